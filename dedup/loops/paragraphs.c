/* Paragraphs and sections: segment.paragraphs, a rule for a rule (see dedup/segment.py),
 * for a text without a `dedup:` marker (None for one: the caller reads those in Python),
 * and segment.sections. */
#include "common.h"

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) { return PyUnicode_READ(t->kind, t->data, i); }

static inline int space(Py_UCS4 c) { return Py_UNICODE_ISSPACE(c); }

/* Whether [start, end) holds a character that is not white space (str.strip() keeps any). */
static int filled(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    for (Py_ssize_t i = start; i < end; i++)
        if (!space(at(t, i))) return 1;
    return 0;
}

/* Where `\s{0,3}` leaves off from `start` (none of what follows it can be white space, so
 * taking the most is what the regex does). */
static Py_ssize_t indent(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t i = start;
    while (i < end && i - start < 3 && space(at(t, i))) i++;
    return i;
}

/* `#{1,6}\s` at i (before end). */
static int hashes(const Text *t, Py_ssize_t i, Py_ssize_t end) {
    Py_ssize_t j = i;
    while (j < end && at(t, j) == '#') j++;
    return j > i && j - i <= 6 && j < end && space(at(t, j));
}

/* _MARKDOWN_HEADING.match(text, start, end). */
static int heading_line(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    return hashes(t, indent(t, start, end), end);
}

/* _MARKDOWN_BLOCK.match(text, start, end): a heading, item, quote, fence or table row. */
static int block_start(const Text *t, Py_ssize_t start, Py_ssize_t end) {
    const Py_ssize_t i = indent(t, start, end);
    if (i >= end) return 0;
    const Py_UCS4 c = at(t, i);
    if (c == '#') return hashes(t, i, end);
    if (c == '-' || c == '*' || c == '+') return i + 1 < end && space(at(t, i + 1));
    if (c == '>' || c == '|') return 1;
    if (c == '`' || c == '~')
        return i + 2 < end && at(t, i + 1) == c && at(t, i + 2) == c;
    Py_ssize_t j = i;
    while (j < end && Py_UNICODE_ISDECIMAL(at(t, j))) j++;
    if (j == i || j - i > 9 || j + 1 >= end) return 0;
    return (at(t, j) == '.' || at(t, j) == ')') && space(at(t, j + 1));
}

static int ascending(const void *a, const void *b) {
    const Py_ssize_t x = *(const Py_ssize_t *)a, y = *(const Py_ssize_t *)b;
    return (x > y) - (x < y);
}

/* segment._wrapped over the breaks that are not forced: the widths of their lines and
 * whether the line after each starts in lower case. */
static int wrapped(Py_ssize_t *widths, Py_ssize_t count, Py_ssize_t continued) {
    if (!count) return 0;
    if (continued && continued >= 0.2 * (double)count) return 1;
    if (count < 3) return 0;
    qsort(widths, (size_t)count, sizeof(Py_ssize_t), ascending);
    Py_ssize_t k = (Py_ssize_t)((double)count * 0.9);
    if (k > count - 1) k = count - 1;
    const double width = (double)widths[k];
    Py_ssize_t wide = 0;
    for (Py_ssize_t i = 0; i < count; i++) wide += (double)widths[i] >= 0.7 * width;
    return (double)wide >= 0.7 * (double)count;
}

/* _trim(text, start, end): the span without the white space at either end. */
static void trim(const Text *t, Py_ssize_t *start, Py_ssize_t *end) {
    while (*start < *end && space(at(t, *start))) (*start)++;
    while (*end > *start && space(at(t, *end - 1))) (*end)--;
}

/* Appends _trim(text, start, end); 0 on error. */
static int add_trimmed(Spans *out, const Text *t, Py_ssize_t start, Py_ssize_t end) {
    trim(t, &start, &end);
    return add_span(out, start, end);
}

/* Whether "dedup:", in any case, ends at `colon` (segment._has_marker: no character past
 * ASCII lowers to one of its letters). */
static int marker_at(const Text *t, Py_ssize_t colon) {
    static const char word[] = "dedup";
    if (colon < 5) return 0;
    for (Py_ssize_t k = 0; k < 5; k++) {
        const Py_UCS4 c = at(t, colon - 5 + k);
        if (c != (Py_UCS4)word[k] && c != (Py_UCS4)(word[k] - 'a' + 'A')) return 0;
    }
    return 1;
}

/* Whether the text holds "dedup:" in any case. */
static int marked(const Text *t, Py_ssize_t length) {
#define FIND(T)                                 \
    for (Py_ssize_t i = 5; i < length; i++)     \
        if (((const T *)t->data)[i] == ':' && marker_at(t, i)) return 1;
    BY_KIND(t, FIND);
#undef FIND
    return 0;
}

PyDoc_STRVAR(has_marker_doc,
             "has_marker(text) -> bool\n\n"
             "segment._has_marker: whether `dedup:` is in the text, in any case.");

static PyObject *has_marker(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    const Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
    return PyBool_FromLong(marked(&t, PyUnicode_GET_LENGTH(text)));
}

/* segment.paragraphs of a text without a marker, appended to `out`; 0 on error. */
static int paragraph_spans(const Text *t, Py_ssize_t length, Spans *out) {
    /* The lines that are not blank, [start, end) without "\r\n", and where each block
     * (of lines between blank ones) begins among them. */
    Py_ssize_t lines = 1;
#define COUNT(T) \
    for (Py_ssize_t i = 0; i < length; i++) lines += ((const T *)t->data)[i] == '\n';
    BY_KIND(t, COUNT);
#undef COUNT
    Py_ssize_t *starts = PyMem_RawMalloc((size_t)lines * 4 * sizeof(Py_ssize_t));
    char *flags = PyMem_RawMalloc((size_t)lines);  /* 1: a block's first line; 2: a hard break */
    if (starts == NULL || flags == NULL) {
        PyMem_RawFree(starts);
        PyMem_RawFree(flags);
        PyErr_NoMemory();
        return 0;
    }
    Py_ssize_t *ends = starts + lines, *widths = starts + 2 * lines;
    Py_ssize_t count = 0, breaks = 0, continued = 0;
    int blank_before = 1;
    for (Py_ssize_t start = 0; start <= length;) {
        Py_ssize_t end = start;
        while (end < length && at(t, end) != '\n') end++;
        const Py_ssize_t next = end + 1;
        if (end > start && at(t, end - 1) == '\r') end--;
        if (filled(t, start, end)) {
            flags[count] = blank_before;
            if (!blank_before) {  /* a break inside a block, after line count - 1 */
                const Py_ssize_t s = starts[count - 1], e = ends[count - 1];
                if (block_start(t, start, end) || heading_line(t, s, e)) {
                    flags[count] = 2;
                } else {
                    widths[breaks++] = e - s;
                    Py_ssize_t first = start;
                    while (space(at(t, first))) first++;
                    continued += Py_UNICODE_ISLOWER(at(t, first)) != 0;
                }
            }
            starts[count] = start;
            ends[count] = end;
            count++;
            blank_before = 0;
        } else {
            blank_before = 1;
        }
        start = next;
    }
    const int wrap = wrapped(widths, breaks, continued);
    int ok = 1;
    Py_ssize_t first = 0;
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        /* A paragraph ends before a block's first line, and before a line after a break
         * that is forced, or any break of a text whose lines are not wrapped. */
        const int hard = flags[i] == 1 || flags[i] == 2 || !wrap;
        if (i && hard) ok = add_trimmed(out, t, starts[first], ends[i - 1]);
        if (hard) first = i;
    }
    if (ok && count) ok = add_trimmed(out, t, starts[first], ends[count - 1]);
    PyMem_RawFree(starts);
    PyMem_RawFree(flags);
    return ok;
}

PyDoc_STRVAR(paragraphs_doc,
             "paragraphs(text) -> list[tuple[int, int]] | None\n\n"
             "segment.paragraphs of a text; None if it holds a `dedup:` marker.");

static PyObject *paragraphs(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    const Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (marked(&t, length)) Py_RETURN_NONE;
    Spans found = {NULL, 0, 0};
    PyObject *out = paragraph_spans(&t, length, &found) ? span_list(&found) : NULL;
    PyMem_RawFree(found.at);
    return out;
}

/* segment.is_heading of text[start:end], a paragraph (trimmed, not empty): one line, and
 * a Markdown heading or at most `most` words, not ending in .,;:… and holding a letter.
 * The line is looked at last: a long paragraph is told by its first words. */
static int is_heading(const Text *t, Py_ssize_t start, Py_ssize_t end, Py_ssize_t most) {
    if (start >= end) return 0;
    if (!heading_line(t, start, end)) {
        const Py_UCS4 last = at(t, end - 1);
        if (last == '.' || last == ',' || last == ';' || last == ':' || last == 0x2026)
            return 0;
        Py_ssize_t words = 0;
        int letter = 0, in_word = 0;
        for (Py_ssize_t i = start; i < end; i++) {
            const Py_UCS4 c = at(t, i);
            if (space(c)) {
                in_word = 0;
                continue;
            }
            if (!in_word && ++words > most) return 0;
            in_word = 1;
            letter = letter || Py_UNICODE_ISALPHA(c);
        }
        if (!letter) return 0;
    }
    for (Py_ssize_t i = start; i < end; i++)
        if (at(t, i) == '\n') return 0;
    return 1;
}

/* segment.sections of a text's paragraphs (count (start, end) pairs, trimmed and not
 * empty, in order), appended to `out`; 0 on error. */
static int section_spans(const Text *t, Py_ssize_t length, const int64_t *paras,
                         Py_ssize_t count, Py_ssize_t most, Spans *out) {
    Py_ssize_t first = -1, end = 0;
    int previous = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        const Py_ssize_t s = paras[2 * k], e = paras[2 * k + 1];
        if (s < 0 || s > e || e > length) {
            PyErr_SetString(PyExc_ValueError, "paragraphs: a span outside the text");
            return 0;
        }
        /* One paragraph is one section, a heading or not: it is not read. */
        const int heading = count > 1 && is_heading(t, s, e, most);
        if (first < 0) {
            first = s;
        } else if (heading && !previous) {
            if (!add_span(out, first, end)) return 0;
            first = s;
        }
        end = e;
        previous = heading;
    }
    return first < 0 || add_span(out, first, end);
}

PyDoc_STRVAR(sections_doc,
             "sections(text, paragraphs, most) -> list[tuple[int, int]]\n\n"
             "segment.sections of a text's paragraphs (a list of (start, end), trimmed and\n"
             "not empty, as segment.paragraphs gives them), headings of at most `most` words.");

static PyObject *sections(PyObject *self, PyObject *args) {
    PyObject *text, *paras;
    Py_ssize_t most;
    if (!PyArg_ParseTuple(args, "UO!n", &text, &PyList_Type, &paras, &most)) return NULL;
    const Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
    Spans given = {NULL, 0, 0}, found = {NULL, 0, 0};
    PyObject *out = NULL;
    int ok = 1;
    for (Py_ssize_t k = 0; ok && k < PyList_GET_SIZE(paras); k++) {
        Py_ssize_t s, e;
        ok = PyArg_ParseTuple(PyList_GET_ITEM(paras, k), "nn", &s, &e) && add_span(&given, s, e);
    }
    if (ok && section_spans(&t, PyUnicode_GET_LENGTH(text), given.at, given.count, most, &found))
        out = span_list(&found);
    PyMem_RawFree(given.at);
    PyMem_RawFree(found.at);
    return out;
}

/* The levels segment_batch is asked for, as bits of its `levels`. */
enum { DOCUMENT = 1, SECTION = 2, PARAGRAPH = 4, SENTENCE = 8 };

/* The spans of one level of a batch's texts, and how many each text has. */
typedef struct {
    Spans spans;
    int64_t *counts;
} Found;

/* Appends a text's spans (`mine`, emptied) to a level's, moved to `base`. */
static int move_spans(Found *level, Spans *mine, Py_ssize_t text, int64_t base) {
    level->counts[text] = mine->count;
    for (Py_ssize_t i = 0; i < mine->count; i++)
        if (!add_span(&level->spans, base + mine->at[2 * i], base + mine->at[2 * i + 1]))
            return 0;
    mine->count = 0;
    return 1;
}

PyDoc_STRVAR(segment_batch_doc,
             "segment_batch(texts, levels, most) -> tuple | None\n\n"
             "segment.spans of every text of a batch, for the levels whose bits are set in\n"
             "`levels` (1 document, 2 section, 4 paragraph, 8 sentence; headings of at most\n"
             "`most` words): per level, None if not asked, else (spans, counts) as bytes of\n"
             "int64, the spans (start, end) in the texts joined, and each text's count.\n"
             "None if a text holds a `dedup:` marker.");

static PyObject *segment_batch(PyObject *self, PyObject *args) {
    PyObject *texts;
    int levels;
    Py_ssize_t most;
    if (!PyArg_ParseTuple(args, "O!in", &PyList_Type, &texts, &levels, &most)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    if (!all_str(texts)) return NULL;
    for (Py_ssize_t d = 0; d < n; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        const Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        if (marked(&t, PyUnicode_GET_LENGTH(text))) Py_RETURN_NONE;
    }
    Found found[4];
    Spans paras = {NULL, 0, 0}, mine = {NULL, 0, 0};
    PyObject *out = NULL;
    int ok = 1;
    for (int l = 0; l < 4; l++) {
        found[l].spans = (Spans){NULL, 0, 0};
        found[l].counts = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(int64_t));
        ok = ok && found[l].counts != NULL;
    }
    if (!ok) PyErr_NoMemory();
    int64_t base = 0;
    for (Py_ssize_t d = 0; ok && d < n; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        const Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        if (levels & DOCUMENT) {
            Py_ssize_t s = 0, e = length;
            trim(&t, &s, &e);
            ok = (s == e || add_span(&mine, s, e)) && move_spans(&found[0], &mine, d, base);
        }
        if (ok && levels & (SECTION | PARAGRAPH | SENTENCE)) {
            paras.count = 0;
            ok = paragraph_spans(&t, length, &paras);
            if (ok && levels & SECTION)
                ok = section_spans(&t, length, paras.at, paras.count, most, &mine) &&
                     move_spans(&found[1], &mine, d, base);
            if (ok && levels & SENTENCE)
                ok = dedup_sentence_spans(t.kind, t.data, length, paras.at, paras.count,
                                          &mine) &&
                     move_spans(&found[3], &mine, d, base);
            if (ok && levels & PARAGRAPH) ok = move_spans(&found[2], &paras, d, base);
        }
        base += length;
    }
    if (ok) out = PyTuple_New(4);
    for (int l = 0; out != NULL && l < 4; l++) {
        PyObject *level = Py_NewRef(Py_None);
        if (levels & (1 << l)) {
            Py_DECREF(level);
            const char *spans = found[l].spans.at ? (const char *)found[l].spans.at : "";
            level = Py_BuildValue(
                "(y#y#)", spans,
                (Py_ssize_t)(found[l].spans.count * 2 * sizeof(int64_t)),
                (const char *)found[l].counts, (Py_ssize_t)(n * sizeof(int64_t)));
        }
        if (level == NULL) Py_CLEAR(out);
        else PyTuple_SET_ITEM(out, l, level);
    }
    for (int l = 0; l < 4; l++) {
        PyMem_RawFree(found[l].spans.at);
        PyMem_RawFree(found[l].counts);
    }
    PyMem_RawFree(paras.at);
    PyMem_RawFree(mine.at);
    return out;
}

PyMethodDef dedup_paragraph_methods[] = {
    {"sections", sections, METH_VARARGS, sections_doc},
    {"paragraphs", paragraphs, METH_VARARGS, paragraphs_doc},
    {"has_marker", has_marker, METH_VARARGS, has_marker_doc},
    {"segment_batch", segment_batch, METH_VARARGS, segment_batch_doc},
    {NULL, NULL, 0, NULL},
};
