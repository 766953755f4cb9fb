/* Lines: the numbers a text states (facts.number_marks, facts._number_words) and the ways
 * a line reads as a title beside a label (titles._separated), which ran as Python regular
 * expressions over every short unit of a batch (a million templated records, "Titre — page
 * 12 — publié le 8 mai 2023", spent more than half of their fingerprinting in them); and
 * where a JSONL record's line holds its text (records._value_span).
 *
 * Characters are classed as Python's re classes them in a str: \w a letter, digit or
 * number (Py_UNICODE_ISALNUM) or '_', \d a decimal digit, \s white space (str.isspace). */
#include "common.h"

static inline int is_word(Py_UCS4 c) {
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    return Py_UNICODE_ISALNUM(c);
}

static inline int is_digit(Py_UCS4 c) {
    return c < 0x80 ? c >= '0' && c <= '9' : Py_UNICODE_ISDECIMAL(c);
}

static inline int is_space(Py_UCS4 c) { return Py_UNICODE_ISSPACE(c); }

/* A word of a text's numbers, casefolded, as UTF-8: where it is in the bytes found (`at`),
 * and once they are all found, its first byte (`p`). */
typedef struct {
    Py_ssize_t at, len;
    const unsigned char *p;
} Word;

static int by_bytes(const void *a, const void *b) {
    const Word *x = a, *y = b;
    const Py_ssize_t n = x->len < y->len ? x->len : y->len;
    const int c = memcmp(x->p, y->p, (size_t)n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* A growing byte buffer and the words in it. */
typedef struct {
    unsigned char *bytes;
    Py_ssize_t used, room;
    Word *words;
    Py_ssize_t count, slots;
} Found;

/* Room for `more` bytes and one word more; 0 (and MemoryError) if there is none. */
static int reserve(Found *f, Py_ssize_t more) {
    void *bytes = f->bytes, *words = f->words;
    const int ok = grow(&bytes, &f->room, f->used + more, 1) &&
                   grow(&words, &f->slots, f->count + 1, sizeof(Word));
    f->bytes = bytes;
    f->words = words;
    return ok;
}

/* Appends text[lo:hi] casefolded in UTF-8 as one word; 0 on error. */
static int add_word(Found *f, PyObject *text, int kind, const void *data, Py_ssize_t lo,
                    Py_ssize_t hi) {
    int ascii = 1;
    for (Py_ssize_t i = lo; i < hi && ascii; i++) ascii = PyUnicode_READ(kind, data, i) < 0x80;
    PyObject *folded = NULL;
    int fkind = kind;
    const void *fdata = data;
    Py_ssize_t flo = lo, fhi = hi;
    if (!ascii) {  /* str.casefold, which may change the length */
        PyObject *word = PyUnicode_Substring(text, lo, hi);
        if (word == NULL) return 0;
        folded = PyObject_CallMethod(word, "casefold", NULL);
        Py_DECREF(word);
        if (folded == NULL) return 0;
        fkind = PyUnicode_KIND(folded);
        fdata = PyUnicode_DATA(folded);
        flo = 0;
        fhi = PyUnicode_GET_LENGTH(folded);
    }
    if (!reserve(f, 4 * (fhi - flo))) {
        Py_XDECREF(folded);
        return 0;
    }
    unsigned char *out = f->bytes + f->used;
    for (Py_ssize_t i = flo; i < fhi; i++) {
        Py_UCS4 c = PyUnicode_READ(fkind, fdata, i);
        if (ascii && c >= 'A' && c <= 'Z') c += 'a' - 'A';
        out = put_utf8(out, c);
    }
    Py_XDECREF(folded);
    f->words[f->count].at = f->used;
    f->words[f->count].len = (out - f->bytes) - f->used;
    f->used = out - f->bytes;
    f->count++;
    return 1;
}

/* The next run of word characters holding a digit (re's `\w*\d\w*` at a word's start)
 * from *end on: its start, its end in *end; -1 for none. */
static Py_ssize_t next_number(int kind, const void *data, Py_ssize_t n, Py_ssize_t *end) {
    for (Py_ssize_t i = *end; i < n;) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        const Py_ssize_t lo = i;
        int digit = 0;
        for (; i < n; i++) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (!is_word(c)) break;
            digit |= is_digit(c);
        }
        if (digit) {
            *end = i;
            return lo;
        }
    }
    *end = n;
    return -1;
}

/* The mark of one text (NFKC already, if not ASCII); -1 on error. */
static int64_t marked(PyObject *text, Found *f) {
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    f->used = f->count = 0;
    Py_ssize_t lo, hi = 0;
    while ((lo = next_number(kind, data, n, &hi)) >= 0)
        if (!add_word(f, text, kind, data, lo, hi)) return -1;
    /* A word's k-th occurrence is hashed with seed k: the mark is the same in any order,
     * so the words are sorted and each run of one counted. */
    for (Py_ssize_t k = 0; k < f->count; k++) f->words[k].p = f->bytes + f->words[k].at;
    if (f->count > 1) qsort(f->words, (size_t)f->count, sizeof(Word), by_bytes);
    uint64_t mark = 0;
    uint32_t seen = 0;
    for (Py_ssize_t k = 0; k < f->count; k++) {
        seen = k && by_bytes(&f->words[k - 1], &f->words[k]) == 0 ? seen + 1 : 0;
        const uint32_t h = xxh32_seeded(f->words[k].p, f->words[k].len, seen);
        mark |= (1ull << (h % 31)) | (1ull << (h / 31 % 31));
    }
    return (int64_t)mark;
}

PyDoc_STRVAR(number_marks_doc,
             "number_marks(texts, nfkc) -> bytearray\n\n"
             "facts.number_marks of each str (int64): `nfkc` is called on a text that is\n"
             "not ASCII first, and must return its NFKC form.");

static PyObject *number_marks(PyObject *self, PyObject *args) {
    PyObject *list, *nfkc;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &list, &nfkc)) return NULL;
    if (!all_str(list)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(list);
    PyObject *out = PyByteArray_FromStringAndSize(NULL, n * 8);
    if (out == NULL) return NULL;
    int64_t *marks = (int64_t *)PyByteArray_AS_STRING(out);
    Found f = {0};
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(list, i);
        Py_INCREF(text);
        if (!PyUnicode_IS_ASCII(text)) {
            PyObject *normal = PyObject_CallOneArg(nfkc, text);
            Py_DECREF(text);
            if (normal != NULL && !PyUnicode_Check(normal)) {
                PyErr_SetString(PyExc_TypeError, "nfkc did not return a str");
                Py_CLEAR(normal);
            }
            if (normal == NULL) goto failed;
            text = normal;
        }
        marks[i] = marked(text, &f);
        Py_DECREF(text);
        if (marks[i] < 0) goto failed;
    }
    PyMem_RawFree(f.bytes);
    PyMem_RawFree(f.words);
    return out;
failed:
    PyMem_RawFree(f.bytes);
    PyMem_RawFree(f.words);
    Py_DECREF(out);
    return NULL;
}

PyDoc_STRVAR(number_words_doc,
             "number_words(text) -> list of str\n\n"
             "facts._NUMBER.findall(text): every run of word characters holding a decimal digit.");

static PyObject *number_words(PyObject *self, PyObject *args) {
    PyObject *arg;
    if (!PyArg_ParseTuple(args, "U", &arg)) return NULL;
    const int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    PyObject *out = PyList_New(0);
    Py_ssize_t lo, hi = 0;
    while (out != NULL && (lo = next_number(kind, data, n, &hi)) >= 0) {
        PyObject *word = PyUnicode_Substring(arg, lo, hi);
        if (word == NULL || PyList_Append(out, word) < 0) Py_CLEAR(out);
        Py_XDECREF(word);
    }
    return out;
}

/* Which separator a title's label stands behind (titles._SUFFIX_LABEL, and its variant
 * for a text that opens a French quote) or before (titles._PREFIX_LABEL). */
enum { SUFFIX, SUFFIX_QUOTING, PREFIX };

/* The first match of a separator in text[lo:hi), as re finds it there: its start, and its
 * end in *end; -1 for none.  Every match holds one separator character, a match starts
 * with the white space before its first one, so the first in the text is the leftmost
 * match, and it takes the white space after it. */
static Py_ssize_t separator(int kind, const void *data, Py_ssize_t lo, Py_ssize_t hi, int which,
                            Py_ssize_t *end) {
    Py_ssize_t run = -1;  /* where the white space before i starts; -1: none */
    for (Py_ssize_t i = lo; i < hi; i++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, i);
        const int after = i + 1 < hi && is_space(PyUnicode_READ(kind, data, i + 1));
        int found;
        if (which == PREFIX) {
            found = c == ':' && (run >= 0 || after);  /* \s*:\s+ | \s+:\s* */
        } else {  /* \s*[|•·»]\s* | \s+[-–—/]\s+ */
            found = c == '|' || c == 0x2022 || c == 0xB7 || (c == 0xBB && which == SUFFIX) ||
                    ((c == '-' || c == 0x2013 || c == 0x2014 || c == '/') && run >= 0 && after);
        }
        if (found) {
            Py_ssize_t e = i + 1;
            while (e < hi && is_space(PyUnicode_READ(kind, data, e))) e++;
            *end = e;
            return run >= 0 ? run : i;
        }
        if (is_space(c)) {
            if (run < 0) run = i;
        } else {
            run = -1;
        }
    }
    return -1;
}

/* The words of text[lo:hi), as str.split() cuts them. */
static Py_ssize_t words(int kind, const void *data, Py_ssize_t lo, Py_ssize_t hi) {
    Py_ssize_t count = 0;
    int in = 0;
    for (Py_ssize_t i = lo; i < hi; i++) {
        const int space = is_space(PyUnicode_READ(kind, data, i));
        count += !space && !in;
        in = !space;
    }
    return count;
}

/* titles._is_label of text[tl:th) and text[ll:lh). */
static int is_label(int kind, const void *data, Py_ssize_t tl, Py_ssize_t th, Py_ssize_t ll,
                    Py_ssize_t lh) {
    if (th - tl < 12 && words(kind, data, tl, th) < 2) return 0;  /* _ONE_WORD_TITLE */
    const Py_ssize_t w = words(kind, data, ll, lh);
    if (w < 1 || w > 5) return 0;  /* _LABEL_WORDS */
    int lettered = 0;
    for (Py_ssize_t i = ll; i < lh; i++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_digit(c)) return 0;
        lettered |= Py_UNICODE_ISALPHA(c);
    }
    return lettered;
}

/* Whether text[a:a+n) and text[b:b+n) hold the same characters. */
static int same(int kind, const void *data, Py_ssize_t a, Py_ssize_t b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyUnicode_READ(kind, data, a + i) != PyUnicode_READ(kind, data, b + i)) return 0;
    return 1;
}

PyDoc_STRVAR(separated_doc,
             "separated(text) -> list of (title, label, usual)\n\n"
             "titles._separated: the readings of a str as a title and a label around a\n"
             "separator.");

static PyObject *separated(PyObject *self, PyObject *args) {
    PyObject *arg;
    if (!PyArg_ParseTuple(args, "U", &arg)) return NULL;
    const int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int quoting = 0;
    for (Py_ssize_t i = 0; i < n && !quoting; i++) quoting = PyUnicode_READ(kind, data, i) == 0xAB;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    const int kinds[2] = {quoting ? SUFFIX_QUOTING : SUFFIX, PREFIX};
    for (int s = 0; s < 2; s++) {
        Py_ssize_t end;
        const Py_ssize_t start = separator(kind, data, 0, n, kinds[s], &end);
        if (start < 0) continue;
        /* The parts around it, the usual reading's title first: before a label after it,
         * after one before it. */
        Py_ssize_t part[2][2] = {{0, start}, {end, n}};
        const int title_first = kinds[s] != PREFIX;
        for (int turned = 0; turned < 2; turned++) {
            const int t = title_first ? turned : !turned;  /* which part is the title */
            const Py_ssize_t tl = part[t][0], th = part[t][1], ll = part[!t][0], lh = part[!t][1];
            Py_ssize_t ignored;
            if (!is_label(kind, data, tl, th, ll, lh) ||
                separator(kind, data, tl, th, kinds[s], &ignored) >= 0)
                continue;
            /* Turned, it is the usual reading still if both parts are the same. */
            const int usual = !turned || (th - tl == lh - ll && same(kind, data, tl, ll, th - tl));
            PyObject *reading = Py_BuildValue("(NNO)", PyUnicode_Substring(arg, tl, th),
                                              PyUnicode_Substring(arg, ll, lh),
                                              usual ? Py_True : Py_False);
            if (reading == NULL || PyList_Append(out, reading) < 0) {
                Py_XDECREF(reading);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(reading);
        }
    }
    return out;
}

/* JSONL records: where a record's top-level field holds its value (records._value_span),
 * on a line a JSON parser read already, so that values are skipped, not checked. */

/* Past white space as JSON has it. */
static Py_ssize_t json_space(int kind, const void *data, Py_ssize_t n, Py_ssize_t at) {
    while (at < n) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        at++;
    }
    return at;
}

/* Past the string opening at `at`; -1 if it does not close.  *escaped: it holds a '\\'. */
static Py_ssize_t json_string(int kind, const void *data, Py_ssize_t n, Py_ssize_t at,
                              int *escaped) {
    for (at++; at < n; at++) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c == '"') return at + 1;
        if (c == '\\') {
            *escaped = 1;
            at++;
        }
    }
    return -1;
}

/* Past the value starting at `at`: a string, an object or array (its strings skipped
 * whole), or a number or literal (up to what ends a value); -1 if it does not end. */
static Py_ssize_t json_value(int kind, const void *data, Py_ssize_t n, Py_ssize_t at) {
    int escaped = 0, depth = 0;
    if (at >= n) return -1;
    const Py_UCS4 first = PyUnicode_READ(kind, data, at);
    if (first == '"') return json_string(kind, data, n, at, &escaped);
    if (first != '{' && first != '[') {
        while (at < n) {
            const Py_UCS4 c = PyUnicode_READ(kind, data, at);
            if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' ||
                c == '\r')
                break;
            at++;
        }
        return at;
    }
    while (at < n) {
        const Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c == '"') {
            at = json_string(kind, data, n, at, &escaped);
            if (at < 0) return -1;
            continue;
        }
        depth += (c == '{' || c == '[') - (c == '}' || c == ']');
        at++;
        if (depth == 0) return at;
    }
    return -1;
}

PyDoc_STRVAR(value_span_doc,
             "value_span(line, field) -> (start, end), None or False\n\n"
             "records._value_span of a line that holds one JSON value: where the value of\n"
             "the top-level `field` (its last) lies, None if the line is no object or has\n"
             "none, False where only a JSON parser can tell (a key with an escape).");

static PyObject *value_span(PyObject *self, PyObject *args) {
    PyObject *line, *field;
    if (!PyArg_ParseTuple(args, "UU", &line, &field)) return NULL;
    const int kind = PyUnicode_KIND(line), fkind = PyUnicode_KIND(field);
    const void *data = PyUnicode_DATA(line), *fdata = PyUnicode_DATA(field);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(line), size = PyUnicode_GET_LENGTH(field);
    Py_ssize_t at = json_space(kind, data, n, 0), start = -1, end = -1;
    if (at >= n || PyUnicode_READ(kind, data, at) != '{') Py_RETURN_NONE;
    at = json_space(kind, data, n, at + 1);
    while (at < n && PyUnicode_READ(kind, data, at) != '}') {
        int escaped = 0;
        if (PyUnicode_READ(kind, data, at) != '"') Py_RETURN_FALSE;
        const Py_ssize_t key = at + 1, key_end = json_string(kind, data, n, at, &escaped);
        if (key_end < 0 || escaped) Py_RETURN_FALSE;
        at = json_space(kind, data, n, key_end);
        if (at >= n || PyUnicode_READ(kind, data, at) != ':') Py_RETURN_FALSE;
        const Py_ssize_t value = json_space(kind, data, n, at + 1);
        at = json_value(kind, data, n, value);
        if (at < 0) Py_RETURN_FALSE;
        int same = key_end - 1 - key == size;
        for (Py_ssize_t i = 0; same && i < size; i++)
            same = PyUnicode_READ(kind, data, key + i) == PyUnicode_READ(fkind, fdata, i);
        if (same) {
            start = value;
            end = at;
        }
        at = json_space(kind, data, n, at);
        if (at < n && PyUnicode_READ(kind, data, at) == ',')
            at = json_space(kind, data, n, at + 1);
        else if (at >= n || PyUnicode_READ(kind, data, at) != '}')
            Py_RETURN_FALSE;
    }
    if (at >= n) Py_RETURN_FALSE;
    if (start < 0) Py_RETURN_NONE;
    return Py_BuildValue("(nn)", start, end);
}

PyMethodDef dedup_line_methods[] = {
    {"number_marks", number_marks, METH_VARARGS, number_marks_doc},
    {"number_words", number_words, METH_VARARGS, number_words_doc},
    {"separated", separated, METH_VARARGS, separated_doc},
    {"value_span", value_span, METH_VARARGS, value_span_doc},
    {NULL, NULL, 0, NULL},
};
