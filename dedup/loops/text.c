/* Text: the normalization of text whose characters fold on their own, copies of texts,
 * newlines, and sentence splitting. */
#include "common.h"

/* --- normalization, each str folded on its own (normalize._fold_texts) ------------- */

/* What fold_texts does with the characters past ASCII of a call: their images, looked up
 * directly below 0x800 and by bisection above. */
typedef struct {
    const uint32_t *codes;
    const int64_t *ends;
    const unsigned char *images, *bad;
    Py_ssize_t count;
    int16_t direct[0x800];  /* a code point's place among codes, -1 for none */
} Images;

static inline Py_ssize_t image_of(const Images *im, uint32_t code) {
    if (code < 0x800) return im->direct[code];
    Py_ssize_t lo = 0, hi = im->count;
    while (lo < hi) {
        const Py_ssize_t mid = (lo + hi) / 2;
        if (im->codes[mid] < code) lo = mid + 1;
        else hi = mid;
    }
    return lo < im->count && im->codes[lo] == code ? lo : -1;
}

/* One text's characters folded into `out` (UTF-8); its length, or -1 where a character
 * is not among the codes or does not fold on its own. */
#define FOLD_LOOP(TYPE)                                                                  \
    {                                                                                \
        const TYPE *c = chars.data;                                                  \
        for (Py_ssize_t i = 0; i < length; i++) {                                    \
            const uint32_t code = c[i];                                              \
            if (code < 0x80) {                                                       \
                out[n] = map[code];                                                  \
                n += keep[code];                                                     \
                continue;                                                            \
            }                                                                        \
            const Py_ssize_t at = image_of(im, code);                                \
            if (at < 0) {                                                            \
                if (!add_code(unknown, code)) return -2;                             \
                n = 0;                                                               \
                missing = 1;                                                         \
                continue;                                                            \
            }                                                                        \
            if (im->bad[at]) return -1;                                              \
            for (int64_t b = at ? im->ends[at - 1] : 0; b < im->ends[at]; b++) {     \
                const unsigned char byte = im->images[b];                            \
                out[n] = map[byte];                                                  \
                n += keep[byte];                                                     \
            }                                                                        \
        }                                                                            \
    }

/* Code points met that are not among the codes: a buffer that grows. */
typedef struct {
    uint32_t *at;
    Py_ssize_t count, room;
} Codes;

static int add_code(Codes *codes, uint32_t code) {
    for (Py_ssize_t i = codes->count; i-- > 0 && i >= codes->count - 8;)
        if (codes->at[i] == code) return 1;  /* met just before: noted once */
    void *at = codes->at;
    if (!grow(&at, &codes->room, codes->count + 1, sizeof(uint32_t))) return 0;
    codes->at = at;
    codes->at[codes->count++] = code;
    return 1;
}

/* The length of a text folded into out; -1 for a text with a character that does not
 * fold on its own, -3 for one with a character not among the codes (noted in
 * `unknown`), -2 out of memory. */
static Py_ssize_t fold_one(PyObject *text, const Images *im, const unsigned char *map,
                           const unsigned char *keep, unsigned char *out, Codes *unknown) {
    const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t n = 0;
    int missing = 0;
    BY_KIND(&chars, FOLD_LOOP);
    return missing ? -3 : n;
}

PyDoc_STRVAR(fold_texts_doc,
             "fold_texts(texts, table, codes, images, ends, bad[, spaces])\n"
             "    -> (list[str | None], list[int])\n\n"
             "fold over each str of `texts` on its own: each character past ASCII is one of\n"
             "`codes` (uint32, ascending), replaced by its image (image i:\n"
             "images[ends[i - 1]:ends[i]], int64 ends), then every ASCII byte through `table`\n"
             "(256 bytes) with ' and ` deleted, then runs of spaces made one, none at the\n"
             "start or end; with `spaces` false, no space at all.  None for a text with a\n"
             "character not among `codes`, or marked in `bad` (one byte a code); and the\n"
             "characters met that are not among `codes` (some maybe twice).");

static PyObject *fold_texts(PyObject *self, PyObject *args) {
    PyObject *texts;
    Py_buffer table, codes, images, ends, bad;
    int spaces = 1;
    if (!PyArg_ParseTuple(args, "O!y*y*y*y*y*|p", &PyList_Type, &texts, &table, &codes,
                          &images, &ends, &bad, &spaces))
        return NULL;
    PyObject *result = NULL;
    unsigned char *out = NULL;
    Images *im = NULL;
    Codes unknown = {NULL, 0, 0};
    const Py_ssize_t changed = codes.len / 4;
    const int64_t *end_of = ends.buf;
    if (!sized(&table, 1, 256, "table") || !sized(&codes, 4, changed, "codes") ||
        !sized(&ends, 8, changed, "ends") || !sized(&bad, 1, changed, "bad"))
        goto done;
    Py_ssize_t longest = 4;  /* the most bytes a character's image may take */
    for (Py_ssize_t i = 0; i < changed; i++) {
        const int64_t lo = i ? end_of[i - 1] : 0;
        if (lo > end_of[i] || end_of[i] > images.len) {
            PyErr_SetString(PyExc_ValueError, "ends: not ascending within the images");
            goto done;
        }
        longest = end_of[i] - lo > longest ? end_of[i] - lo : longest;
    }
    im = PyMem_RawMalloc(sizeof(Images));
    if (im == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    im->codes = codes.buf;
    im->ends = end_of;
    im->images = images.buf;
    im->bad = bad.buf;
    im->count = changed;
    memset(im->direct, 0xFF, sizeof(im->direct));
    for (Py_ssize_t i = 0; i < changed; i++) {
        if (i && im->codes[i] <= im->codes[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "codes: not ascending");
            goto done;
        }
        if (im->codes[i] < 0x800) im->direct[im->codes[i]] = (int16_t)i;
    }
    unsigned char map[256], keep[256];
    memcpy(map, table.buf, 256);
    for (int b = 0; b < 256; b++) {
        keep[b] = b != '\'' && b != '`';
        if (b >= 0x80) map[b] = (unsigned char)b;
    }
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    Py_ssize_t room = 0;
    if (!all_str(texts)) goto done;
    for (Py_ssize_t t = 0; t < n; t++) {
        const Py_ssize_t length = PyUnicode_GET_LENGTH(PyList_GET_ITEM(texts, t));
        room = length > room ? length : room;
    }
    out = PyMem_RawMalloc((size_t)room * (size_t)longest + 1);
    result = PyList_New(n);
    if (out == NULL || result == NULL) {
        if (out == NULL) PyErr_NoMemory();
        Py_CLEAR(result);
        goto done;
    }
    const int stays = spaces != 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        const Py_ssize_t folded =
            fold_one(PyList_GET_ITEM(texts, t), im, map, keep, out, &unknown);
        if (folded == -2) {
            PyErr_NoMemory();
            Py_CLEAR(result);
            goto done;
        }
        if (folded < 0) {
            PyList_SET_ITEM(result, t, Py_NewRef(Py_None));
            continue;
        }
        /* A space stays right after a solid byte, and goes again at the end; none
         * stays without `spaces`. */
        Py_ssize_t m = 0;
        int solid = 0;
        for (Py_ssize_t i = 0; i < folded; i++) {
            const unsigned char c = out[i];
            const int space = c == ' ';
            out[m] = c;
            m += (!space) | (solid & stays);
            solid = !space;
        }
        if (m && out[m - 1] == ' ') m--;
        PyObject *string = PyUnicode_DecodeUTF8((const char *)out, m, "strict");
        if (string == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, t, string);
    }
    if (result != NULL) {  /* (folded, the code points met that are not among the codes) */
        PyObject *met = PyList_New(unknown.count);
        for (Py_ssize_t i = 0; met != NULL && i < unknown.count; i++) {
            PyObject *code = PyLong_FromUnsignedLong(unknown.at[i]);
            if (code == NULL) Py_CLEAR(met);
            else PyList_SET_ITEM(met, i, code);
        }
        result = met == NULL ? (Py_DECREF(result), NULL) : Py_BuildValue("(NN)", result, met);
    }
done:
    PyMem_RawFree(unknown.at);
    PyMem_RawFree(out);
    PyMem_RawFree(im);
    PyBuffer_Release(&table);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&images);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&bad);
    return result;
}

PyDoc_STRVAR(newlines_doc,
             "newlines(text) -> bytearray\n\n"
             "The place of every '\\n' of a str, as int64.");

static PyObject *newlines(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t count = 0;
#define COUNT(T) \
    for (Py_ssize_t i = 0; i < length; i++) count += ((const T *)chars.data)[i] == '\n';
    BY_KIND(&chars, COUNT);
#undef COUNT
    PyObject *out = PyByteArray_FromStringAndSize(NULL, count * (Py_ssize_t)sizeof(int64_t));
    if (out == NULL) return NULL;
    int64_t *at = (int64_t *)PyByteArray_AS_STRING(out);
    Py_ssize_t i = 0;
    /* Eight bytes at a time past those without a newline (most of a text), each holding
     * 8 / sizeof(T) characters; the others one at a time. */
#define PLACES(T)                                                                   \
    {                                                                               \
        const T *c = (const T *)chars.data;                                         \
        const uint64_t ones = UINT64_MAX / ((1ULL << (8 * sizeof(T))) - 1);         \
        const uint64_t lines = ones * '\n', highs = ones << (8 * sizeof(T) - 1);    \
        for (; sizeof(T) < 4 && i + (Py_ssize_t)(8 / sizeof(T)) <= length;         \
             i += 8 / sizeof(T)) {                                                  \
            uint64_t word;                                                          \
            memcpy(&word, c + i, 8);                                                \
            word ^= lines;                                                          \
            if (!((word - ones) & ~word & highs)) continue;                         \
            for (Py_ssize_t j = i; j < i + (Py_ssize_t)(8 / sizeof(T)); j++)        \
                if (c[j] == '\n') *at++ = j;                                        \
        }                                                                           \
        for (; i < length; i++)                                                     \
            if (c[i] == '\n') *at++ = i;                                            \
    }
    BY_KIND(&chars, PLACES);
#undef PLACES
    return out;
}

/* --- sentences: segment.sentences, a rule for a rule (see dedup/segment.py) ---------- */

/* _SENTENCE_END's marks: . ! ? … and Arabic's, Urdu's and Devanagari's (؟ ۔ । ॥) */
static inline int is_mark(Py_UCS4 c) {
    return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x061F || c == 0x06D4 ||
           c == 0x0964 || c == 0x0965;
}

/* _CJK_MARKS: 。！？｡ */
static inline int is_cjk_mark(Py_UCS4 c) {
    return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF61;
}

static inline int is_closer(Py_UCS4 c) {
    return c == '"' || c == '\'' || c == 0xBB || c == 0x201D || c == 0x2019 || c == ')' ||
           c == ']';
}

/* _CJK_END's closers past is_closer's: 」』）】〕〉》〗〙〛｣ */
static inline int is_cjk_closer(Py_UCS4 c) {
    return c == 0x300D || c == 0x300F || c == 0xFF09 || c == 0x3011 || c == 0x3015 ||
           c == 0x3009 || c == 0x300B || c == 0x3017 || c == 0x3019 || c == 0x301B ||
           c == 0xFF63;
}

/* re's \w and \d on str (sre: Py_UNICODE_ISALNUM or "_", Py_UNICODE_ISDECIMAL). */
static inline int is_word(Py_UCS4 c) { return Py_UNICODE_ISALNUM(c) || c == '_'; }

static inline int is_letter(Py_UCS4 c) {  /* [^\W\d_] */
    return Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c) && c != '_';
}

/* segment._MONTH: the German months, by name or abbreviated. */
static const char *const MONTHS[] = {
    "Januar", "J\xc3\xa4nner", "Februar", "M\xc3\xa4rz", "April", "Mai", "Juni", "Juli",
    "August", "September", "Oktober", "November", "Dezember", "Jan", "Feb", "M\xc3\xa4r",
    "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Okt", "Nov", "Dez", NULL};

/* Whether a month's name starts at `at` and a word ends with it, before `end`. */
static int month_at(int kind, const void *data, Py_ssize_t at, Py_ssize_t end) {
    for (const char *const *name = MONTHS; *name; name++) {
        const unsigned char *q = (const unsigned char *)*name;
        Py_ssize_t i = at;
        int same = 1;
        while (*q && same) {
            Py_UCS4 want = *q++;
            if (want >= 0xC0) want = (want & 0x1F) << 6 | (*q++ & 0x3F);  /* two bytes: ä */
            same = i < end && PyUnicode_READ(kind, data, i) == want;
            i++;
        }
        if (same && (i == end || !is_word(PyUnicode_READ(kind, data, i)))) return 1;
    }
    return 0;
}

/* Whether segment._DAY, (?<!\d)\d{1,2}\., is found in [from, end). */
static int day_in(int kind, const void *data, Py_ssize_t from, Py_ssize_t end) {
    for (Py_ssize_t p = from; p < end; p++) {
        if (!Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, p))) continue;
        if (p > 0 && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, p - 1))) continue;
        if (p + 2 < end && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, p + 1)) &&
            PyUnicode_READ(kind, data, p + 2) == '.')
            return 1;
        if (p + 1 < end && PyUnicode_READ(kind, data, p + 1) == '.') return 1;
    }
    return 0;
}

PyDoc_STRVAR(sentences_doc,
             "sentences(text, paragraphs) -> list[tuple[int, int]]\n\n"
             "segment.sentences of each paragraph span of `text` (int64, a (start, end) pair\n"
             "each, in order), one list.");

int dedup_sentence_spans(int kind, const void *data, Py_ssize_t length, const int64_t *span,
                         Py_ssize_t count, Spans *out) {
    for (Py_ssize_t k = 0; k < count; k++) {
        const Py_ssize_t start = span[2 * k], end = span[2 * k + 1];
        if (start < 0 || start > end || end > length) {
            PyErr_SetString(PyExc_ValueError, "paragraphs: a span outside the text");
            return 0;
        }
        Py_ssize_t first = start, done = start;
        for (Py_ssize_t at = start; at < end; at++) {
            if (at < done) continue;
            const Py_UCS4 c = PyUnicode_READ(kind, data, at);
            if (is_cjk_mark(c)) {
                /* _CJK_END: marks, closers, then white space or none */
                Py_ssize_t i = at + 1;
                while (i < end && (is_cjk_mark(PyUnicode_READ(kind, data, i)) ||
                                   is_mark(PyUnicode_READ(kind, data, i))))
                    i++;
                while (i < end && (is_closer(PyUnicode_READ(kind, data, i)) ||
                                   is_cjk_closer(PyUnicode_READ(kind, data, i))))
                    i++;
                const Py_ssize_t gap_start = i;
                while (i < end && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) i++;
                done = i;
                if (done < end) {
                    if (!add_span(out, first, gap_start)) return 0;
                    first = done;
                }
                continue;
            }
            if (!is_mark(c)) continue;
            /* _SENTENCE_END: marks, closing quotes or brackets, then white space */
            Py_ssize_t i = at;
            while (i < end && is_mark(PyUnicode_READ(kind, data, i))) i++;
            while (i < end && is_closer(PyUnicode_READ(kind, data, i))) i++;
            const Py_ssize_t gap_start = i;
            while (i < end && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) i++;
            if (i == gap_start) continue;
            const Py_ssize_t gap_end = i;
            done = gap_end;
            if (gap_end >= end || Py_UNICODE_ISLOWER(PyUnicode_READ(kind, data, gap_end))) continue;
            if (gap_start - 2 == start) {  /* _OPENING: "1. Ouvrir" */
                if (is_word(PyUnicode_READ(kind, data, start)) &&
                    PyUnicode_READ(kind, data, start + 1) == '.')
                    continue;
            } else if (gap_start - 3 >= start &&  /* _INITIAL: "J. Dupont" */
                       Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, gap_start - 3)) &&
                       is_letter(PyUnicode_READ(kind, data, gap_start - 2)) &&
                       PyUnicode_READ(kind, data, gap_start - 1) == '.') {
                continue;
            }
            /* text[gap_start - 2] as Python reads it: from the end when negative */
            const Py_ssize_t before = gap_start - 2 < 0 ? gap_start - 2 + length : gap_start - 2;
            if (Py_UNICODE_ISDIGIT(PyUnicode_READ(kind, data, before)) &&
                month_at(kind, data, gap_end, end)) {
                const Py_ssize_t day = start > gap_start - 3 ? start : gap_start - 3;
                if (day_in(kind, data, day, gap_start)) continue;  /* "am 20. August" */
            }
            if (!add_span(out, first, gap_start)) return 0;
            first = gap_end;
        }
        if (!add_span(out, first, end)) return 0;
    }
    return 1;
}

static PyObject *sentences(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer paras;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &paras)) return NULL;
    PyObject *out = NULL;
    Spans found = {NULL, 0, 0};
    const Py_ssize_t count = paras.len / 16;
    if (sized(&paras, 16, count, "paragraphs") &&
        dedup_sentence_spans(PyUnicode_KIND(text), PyUnicode_DATA(text),
                             PyUnicode_GET_LENGTH(text), paras.buf, count, &found))
        out = span_list(&found);
    PyMem_RawFree(found.at);
    PyBuffer_Release(&paras);
    return out;
}

PyDoc_STRVAR(copies_doc,
             "copies(texts, step) -> (bytes, bytes)\n\n"
             "io.copies._write's bytes for a list of texts, one after another: an ASCII text\n"
             "as it is; any other preceded by its marks (int64, little-endian: the UTF-8 byte\n"
             "place of every step-th character, and of its end) and in UTF-8, a lone\n"
             "surrogate as 'surrogatepass' writes it. Also each text's place among them\n"
             "(int64): its first byte's, shifted left once, the lowest bit set for ASCII.");

static inline Py_ssize_t utf8_size(const Text *t, Py_ssize_t length) {
    Py_ssize_t size = length;
#define WIDTHS(T)                                  \
    for (Py_ssize_t i = 0; i < length; i++) {      \
        const Py_UCS4 c = ((const T *)t->data)[i]; \
        size += (c >= 0x80) + (c >= 0x800) + (c >= 0x10000); \
    }
    BY_KIND(t, WIDTHS);
#undef WIDTHS
    return size;
}

static inline void put_mark(unsigned char *at, uint64_t value) {
    for (int b = 0; b < 8; b++) at[b] = (unsigned char)(value >> (8 * b));
}

/* A text's marks (the byte place of characters 0, step, 2 step ..., then of its end;
 * little-endian) at `marks`, and its UTF-8 at `bytes`, straight from its code points. */
#define COPY_LOOP(TYPE)                                                                  \
    {                                                                                \
        const TYPE *c = chars.data;                                                  \
        Py_ssize_t mark = 0;                                                         \
        for (Py_ssize_t i = 0; i < length; i += step) {                              \
            put_mark(marks + 8 * mark++, (uint64_t)(out - bytes));                   \
            const Py_ssize_t stop = i + step < length ? i + step : length;           \
            for (Py_ssize_t j = i; j < stop; j++) out = put_utf8(out, c[j]);         \
        }                                                                            \
        put_mark(marks + 8 * mark, (uint64_t)(out - bytes));                         \
    }

static PyObject *copies(PyObject *self, PyObject *args) {
    PyObject *texts;
    Py_ssize_t step;
    if (!PyArg_ParseTuple(args, "O!n", &PyList_Type, &texts, &step)) return NULL;
    if (step < 1) return PyErr_Format(PyExc_ValueError, "step below 1");
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    if (!all_str(texts)) return NULL;
    Py_ssize_t size = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *text = PyList_GET_ITEM(texts, t);
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        if (PyUnicode_IS_ASCII(text)) {
            size += length;
            continue;
        }
        const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        size += 8 * ((length + step - 1) / step + 1) + utf8_size(&chars, length);
    }
    PyObject *blob = PyBytes_FromStringAndSize(NULL, size);
    PyObject *places = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (blob == NULL || places == NULL) {
        Py_XDECREF(blob);
        Py_XDECREF(places);
        return NULL;
    }
    unsigned char *start = (unsigned char *)PyBytes_AS_STRING(blob), *out = start;
    int64_t *place = (int64_t *)PyBytes_AS_STRING(places);
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *text = PyList_GET_ITEM(texts, t);
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        const void *data = PyUnicode_DATA(text);
        if (PyUnicode_IS_ASCII(text)) {
            place[t] = (int64_t)(out - start) << 1 | 1;
            memcpy(out, data, (size_t)length);
            out += length;
            continue;
        }
        place[t] = (int64_t)(out - start) << 1;
        unsigned char *marks = out;
        unsigned char *bytes = out + 8 * ((length + step - 1) / step + 1);
        out = bytes;
        const Text chars = {PyUnicode_KIND(text), data};
        BY_KIND(&chars, COPY_LOOP);
    }
    if (out != start + size) {  /* never: the sizes and the bytes written agree */
        Py_DECREF(blob);
        Py_DECREF(places);
        return PyErr_Format(PyExc_RuntimeError, "copies: %zd bytes, %zd expected",
                            (Py_ssize_t)(out - start), size);
    }
    return Py_BuildValue("(NN)", blob, places);
}

PyDoc_STRVAR(code_points_doc,
             "code_points(texts) -> (atoms, bounds)\n\n"
             "fingerprint.code_points: the code points of a list of str, joined, as uint32,\n"
             "and where each text starts and ends among them (int64, one more than texts):\n"
             "each text widened from its own characters, nothing joined or encoded.");

static PyObject *code_points(PyObject *self, PyObject *args) {
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(list);
    if (!all_str(list)) return NULL;
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) total += PyUnicode_GET_LENGTH(PyList_GET_ITEM(list, i));
    PyObject *atoms = PyByteArray_FromStringAndSize(NULL, total * 4);
    PyObject *bounds = PyByteArray_FromStringAndSize(NULL, (n + 1) * 8);
    if (atoms == NULL || bounds == NULL) {
        Py_XDECREF(atoms);
        Py_XDECREF(bounds);
        return NULL;
    }
    uint32_t *out = (uint32_t *)PyByteArray_AS_STRING(atoms);
    int64_t *at = (int64_t *)PyByteArray_AS_STRING(bounds);
    Py_ssize_t filled = 0;
    at[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(list, i);
        const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
#define WIDEN(T) \
    for (Py_ssize_t j = 0; j < length; j++) out[filled + j] = ((const T *)chars.data)[j];
        BY_KIND(&chars, WIDEN);
#undef WIDEN
        filled += length;
        at[i + 1] = filled;
    }
    return Py_BuildValue("(NN)", atoms, bounds);
}

PyDoc_STRVAR(slices_doc,
             "slices(text, starts, ends) -> list\n\n"
             "layout._pieces: text[starts[i]:ends[i]] for each i (int64 places, ascending\n"
             "within text), each made by PyUnicode_Substring: no slice object, no frame.");

static PyObject *slices(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer starts, ends;
    if (!PyArg_ParseTuple(args, "Uy*y*", &text, &starts, &ends)) return NULL;
    PyObject *out = NULL;
    const Py_ssize_t n = starts.len / 8, length = PyUnicode_GET_LENGTH(text);
    if (!sized(&ends, 8, n, "ends")) goto done;
    const int64_t *a = starts.buf, *b = ends.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] > b[i] || b[i] > length) {
            PyErr_Format(PyExc_ValueError, "span %zd (%lld, %lld) is outside the text", i,
                         (long long)a[i], (long long)b[i]);
            goto done;
        }
    out = PyList_New(n);
    if (out == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *piece = PyUnicode_Substring(text, a[i], b[i]);
        if (piece == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, piece);
    }
done:
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    return out;
}

PyDoc_STRVAR(spaces_and_digits_doc,
             "spaces_and_digits(texts, enough, head) -> (spaces, digits)\n\n"
             "layout.space_counts and the digit search of layout._NumberMarks, in one pass:\n"
             "each text's spaces in its first `head` characters, counted on to its end if\n"
             "fewer than `enough` (int64), and whether one with fewer holds a decimal digit,\n"
             "as re's \\d finds one (uint8; 0 for the others).");

static PyObject *spaces_and_digits(PyObject *self, PyObject *args) {
    PyObject *list;
    Py_ssize_t enough, head;
    if (!PyArg_ParseTuple(args, "O!nn", &PyList_Type, &list, &enough, &head)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(list);
    if (!all_str(list)) return NULL;
    PyObject *spaces = PyByteArray_FromStringAndSize(NULL, n * 8);
    PyObject *digits = PyByteArray_FromStringAndSize(NULL, n);
    if (spaces == NULL || digits == NULL) {
        Py_XDECREF(spaces);
        Py_XDECREF(digits);
        return NULL;
    }
    int64_t *count = (int64_t *)PyByteArray_AS_STRING(spaces);
    uint8_t *digit = (uint8_t *)PyByteArray_AS_STRING(digits);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(list, i);
        const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        const Py_ssize_t first = length < head ? length : head;
        int64_t c = 0;
        int d = 0;
#define COUNT(T)                                                                    \
    {                                                                               \
        const T *at = (const T *)chars.data;                                        \
        for (Py_ssize_t j = 0; j < first; j++) c += at[j] == ' ';                   \
        if (c < enough)                                                             \
            for (Py_ssize_t j = first; j < length; j++) c += at[j] == ' ';          \
        for (Py_ssize_t j = 0; c < enough && j < length && !d; j++) /* ASCII by range */ \
            d = at[j] < 0x80 ? (at[j] >= '0' && at[j] <= '9') : Py_UNICODE_ISDECIMAL(at[j]); \
    }
        BY_KIND(&chars, COUNT);
#undef COUNT
        count[i] = c;
        digit[i] = (uint8_t)d;
    }
    return Py_BuildValue("(NN)", spaces, digits);
}

PyMethodDef dedup_text_methods[] = {
    {"code_points", code_points, METH_VARARGS, code_points_doc},
    {"slices", slices, METH_VARARGS, slices_doc},
    {"spaces_and_digits", spaces_and_digits, METH_VARARGS, spaces_and_digits_doc},
    {"copies", copies, METH_VARARGS, copies_doc},
    {"newlines", newlines, METH_VARARGS, newlines_doc},
    {"fold_texts", fold_texts, METH_VARARGS, fold_texts_doc},
    {"sentences", sentences, METH_VARARGS, sentences_doc},
    {NULL, NULL, 0, NULL},
};
