/* MinHash and shingle sets: the MinHash of runs of shingle hashes, word hashes, k-gram
 * keys and sets, the values sorted sets share, and the children check's shares. */
#include "common.h"

/* The minimum of a * fmix32(v) + b (mod 2**32) over values [lo, hi), for each of the
 * num_perm (a, b), into row[0:num_perm]. */
DEDUP_CLONES
static void minhash_part(const uint32_t *values, Py_ssize_t lo, Py_ssize_t hi, const uint32_t *a,
                         const uint32_t *b, Py_ssize_t num_perm, uint32_t *row) {
    uint32_t acc[MAX_PERM];
    for (Py_ssize_t p = 0; p < num_perm; p++) acc[p] = UINT32_MAX;
    for (Py_ssize_t i = lo; i < hi; i++) {
        const uint32_t h = fmix32(values[i]);
        for (Py_ssize_t p = 0; p < num_perm; p++) {
            const uint32_t v = a[p] * h + b[p];
            acc[p] = v < acc[p] ? v : acc[p];
        }
    }
    memcpy(row, acc, (size_t)num_perm * sizeof(uint32_t));
}

PyDoc_STRVAR(part_minima_doc,
             "part_minima(values, cuts, a, b, out)\n\n"
             "The affine32 MinHash of every part of `values` (uint32): part j runs from\n"
             "cuts[j] to cuts[j + 1] (the last to the end; int64, ascending, from 0). Fills\n"
             "`out` (uint32, a row of len(a) values per part) with each part's minima.");

static PyObject *part_minima(PyObject *self, PyObject *args) {
    Py_buffer values, cuts, a, b, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &values, &cuts, &a, &b, &out)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = values.len / 4, parts = cuts.len / 8, num_perm = a.len / 4;
    const int64_t *at = cuts.buf;
    if (!sized(&values, 4, n, "values") || !sized(&cuts, 8, parts, "cuts") ||
        !sized(&b, 4, num_perm, "b") || !sized(&out, 4, num_perm * parts, "out"))
        goto done;
    if (num_perm > MAX_PERM) {
        PyErr_Format(PyExc_ValueError, "at most %d permutations", MAX_PERM);
        goto done;
    }
    for (Py_ssize_t j = 0; j < parts; j++) {
        const int64_t hi = j + 1 < parts ? at[j + 1] : n;
        if (at[j] < 0 || at[j] > hi || hi > n) {
            PyErr_SetString(PyExc_ValueError, "cuts: not ascending within the values");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < parts; j++) {
        const Py_ssize_t hi = j + 1 < parts ? (Py_ssize_t)at[j + 1] : n;
        minhash_part(values.buf, (Py_ssize_t)at[j], hi, a.buf, b.buf, num_perm,
                     (uint32_t *)out.buf + j * num_perm);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&values);
    PyBuffer_Release(&cuts);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* out[i] = the element-wise minimum of rows[head[i]:head[i] + count[i]], num_perm wide:
 * eight at an instruction with AVX2 (SSE2 has no unsigned minimum). */
DEDUP_CLONES
static void minima_of_runs(const uint32_t *rows, const int64_t *head, const int64_t *count,
                           Py_ssize_t runs, Py_ssize_t num_perm, uint32_t *out) {
    for (Py_ssize_t i = 0; i < runs; i++, out += num_perm) {
        for (Py_ssize_t p = 0; p < num_perm; p++) out[p] = UINT32_MAX;
        for (int64_t j = 0; j < count[i]; j++) {
            const uint32_t *from = rows + (head[i] + j) * num_perm;
            for (Py_ssize_t p = 0; p < num_perm; p++) out[p] = from[p] < out[p] ? from[p] : out[p];
        }
    }
}

PyDoc_STRVAR(run_minima_doc,
             "run_minima(rows, heads, counts, out)\n\n"
             "fingerprint.run_minima: the MinHash of each run of parts, the element-wise\n"
             "minimum of rows[heads[i]:heads[i] + counts[i]] (uint32, a part a row of\n"
             "num_perm values) into out[i] (all ones for a run of no part).");

static PyObject *run_minima(PyObject *self, PyObject *args) {
    Py_buffer rows, heads, counts, out;
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &rows, &heads, &counts, &out)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t runs = heads.len / 8;
    const Py_ssize_t num_perm = runs ? out.len / 4 / runs : 0;
    const Py_ssize_t parts = num_perm ? rows.len / 4 / num_perm : 0;
    const int64_t *head = heads.buf, *count = counts.buf;
    if (!sized(&heads, 8, runs, "heads") || !sized(&counts, 8, runs, "counts") ||
        !sized(&out, 4, runs * num_perm, "out") || !sized(&rows, 4, parts * num_perm, "rows"))
        goto done;
    for (Py_ssize_t i = 0; i < runs; i++)
        if (count[i] > 0 && (head[i] < 0 || head[i] + count[i] > parts)) {
            PyErr_Format(PyExc_ValueError, "run %zd: parts past the rows", i);
            goto done;
        }
    Py_BEGIN_ALLOW_THREADS
    minima_of_runs(rows.buf, head, count, runs, num_perm, out.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&rows);
    PyBuffer_Release(&heads);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&out);
    return result;
}

PyDoc_STRVAR(xxh32_spans_doc,
             "xxh32_spans(data, starts, ends, out)\n\n"
             "xxh32 (seed 0) of data[starts[i]:ends[i]] for every span (int64 bounds), into\n"
             "`out` (uint32, one a span).");

static PyObject *xxh32_spans(PyObject *self, PyObject *args) {
    Py_buffer data, starts, ends, out;
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &data, &starts, &ends, &out)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t count = starts.len / 8;
    const int64_t *lo = starts.buf, *hi = ends.buf;
    if (!sized(&starts, 8, count, "starts") || !sized(&ends, 8, count, "ends") ||
        !sized(&out, 4, count, "out"))
        goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (lo[i] < 0 || lo[i] > hi[i] || hi[i] > data.len) {
            PyErr_Format(PyExc_ValueError, "span %zd: [%lld, %lld) outside %zd bytes", i,
                         (long long)lo[i], (long long)hi[i], data.len);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *bytes = data.buf;
    uint32_t *found = out.buf;
    for (Py_ssize_t i = 0; i < count; i++) found[i] = xxh32(bytes + lo[i], hi[i] - lo[i]);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&out);
    return result;
}

PyDoc_STRVAR(text_token_hashes_doc,
             "text_token_hashes(texts) -> (bytearray, bytearray)\n\n"
             "tokens.joined_hashes of a list of str, as if joined by newlines and encoded in\n"
             "UTF-8: the xxh32 of every token (cut at each character <= 32) as uint32, and how\n"
             "many tokens each text has as int64; nothing joined or encoded but a token past\n"
             "ASCII.");

/* The xxh32 of each token of one text, cut at characters <= 32; the tokens it had. */
#define TOKEN_LOOP(TYPE)                                                                 \
    {                                                                                \
        const TYPE *c = chars.data;                                                  \
        Py_ssize_t start = 0;                                                        \
        for (Py_ssize_t i = 0; i <= length; i++) {                                   \
            Py_UCS4 widest = 0;                                                      \
            for (; i < length && c[i] > 32; i++) widest |= c[i];                     \
            if (widest < 0x80 && sizeof(TYPE) == 1) {                                \
                *out++ = xxh32((const unsigned char *)(c + start), i - start);       \
            } else {                                                                 \
                unsigned char *end = scratch;                                        \
                for (Py_ssize_t j = start; j < i; j++) end = put_utf8(end, c[j]);    \
                *out++ = xxh32(scratch, end - scratch);                              \
            }                                                                        \
            start = i + 1;                                                           \
        }                                                                            \
    }

static PyObject *text_token_hashes(PyObject *self, PyObject *args) {
    PyObject *texts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &texts)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    if (!all_str(texts)) return NULL;
    Py_ssize_t tokens = 0, longest = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *text = PyList_GET_ITEM(texts, t);
        const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        longest = length > longest ? length : longest;
        tokens++;
#define CUTS(T) \
    for (Py_ssize_t i = 0; i < length; i++) tokens += ((const T *)chars.data)[i] <= 32;
        BY_KIND(&chars, CUTS);
#undef CUTS
    }
    PyObject *hashes = PyByteArray_FromStringAndSize(NULL, tokens * (Py_ssize_t)sizeof(uint32_t));
    PyObject *counts = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    unsigned char *scratch = PyMem_RawMalloc(4 * (size_t)longest + 1);
    if (hashes == NULL || counts == NULL || scratch == NULL) {
        Py_XDECREF(hashes);
        Py_XDECREF(counts);
        PyMem_RawFree(scratch);
        return scratch == NULL ? PyErr_NoMemory() : NULL;
    }
    uint32_t *out = (uint32_t *)PyByteArray_AS_STRING(hashes), *first = out;
    int64_t *count = (int64_t *)PyByteArray_AS_STRING(counts);
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *text = PyList_GET_ITEM(texts, t);
        const Text chars = {PyUnicode_KIND(text), PyUnicode_DATA(text)};
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        uint32_t *before = out;
        BY_KIND(&chars, TOKEN_LOOP);
        count[t] = out - before;
    }
    PyMem_RawFree(scratch);
    if (out - first != tokens) {  /* never: the two passes cut alike */
        Py_DECREF(hashes);
        Py_DECREF(counts);
        return PyErr_Format(PyExc_RuntimeError, "text_token_hashes: %zd tokens, %zd counted",
                            (Py_ssize_t)(out - first), tokens);
    }
    return Py_BuildValue("(NN)", hashes, counts);
}

PyDoc_STRVAR(gram_keys_doc,
             "gram_keys(atoms, bounds, k, salt, tags, shift, out)\n\n"
             "fingerprint.gram_keys into `out` (uint64): every window of k atoms in order\n"
             "(UNUSED where it runs past its segment's end), then one gram for each segment\n"
             "of fewer than k atoms but one or more; each hash << shift | its segment's tag\n"
             "(`tags`: uint64, one a segment, or None).");

static PyObject *gram_keys(PyObject *self, PyObject *args) {
    Py_buffer atoms, bounds, out, tags = {0};
    Py_ssize_t k;
    unsigned long long salt;
    int shift;
    PyObject *tag_object;
    if (!PyArg_ParseTuple(args, "y*y*nKOiw*", &atoms, &bounds, &k, &salt, &tag_object, &shift,
                          &out))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = atoms.len / 4, count = bounds.len / 8;
    const int64_t *at = bounds.buf;
    const uint32_t *a = atoms.buf;
    const uint64_t *tag = NULL;
    int tagged = 0;  /* whether `tags` holds a buffer to release */
    if (tag_object != Py_None) {
        if (PyObject_GetBuffer(tag_object, &tags, PyBUF_SIMPLE) < 0) goto done;
        tagged = 1;
        if (!sized(&tags, 8, count - 1, "tags")) goto done;
        tag = tags.buf;
    }
    if (!sized(&atoms, 4, n, "atoms") || !sized(&bounds, 8, count, "bounds") ||
        !bounded(at, count, n))
        goto done;
    if (k < 1 || shift < 0 || shift > 32) {
        PyErr_SetString(PyExc_ValueError, "k below 1, or shift past 32");
        goto done;
    }
    const Py_ssize_t windows = n >= k ? n - k + 1 : 0;
    Py_ssize_t shorts = 0;
    for (Py_ssize_t s = 0; s + 1 < count; s++) {
        const Py_ssize_t size = at[s + 1] - at[s];
        shorts += size > 0 && size < k;
    }
    if (!sized(&out, 8, windows + shorts, "out")) goto done;
    uint64_t *keys = out.buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t s = 0;
    Rolling window = windows ? rolling_start(a, 0, k, salt) : (Rolling){0, 0, 0};
    for (Py_ssize_t i = 0; i < windows; i++) {
        if (i) rolling_next(&window, a, i - 1, k);
        while (at[s + 1] <= i) s++;  /* the segment window i starts in */
        if (i + k > at[s + 1]) {
            keys[i] = UNUSED;
            continue;
        }
        const uint64_t key = (rolling_gram(&window) >> 32) << shift;
        keys[i] = tag ? key | tag[s] : key;
    }
    Py_ssize_t w = windows;
    for (Py_ssize_t s2 = 0; s2 + 1 < count; s2++) {
        const Py_ssize_t size = at[s2 + 1] - at[s2];
        if (size > 0 && size < k) {
            const uint64_t key = (gram(a, at[s2], at[s2 + 1], salt) >> 32) << shift;
            keys[w++] = tag ? key | tag[s2] : key;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&atoms);
    PyBuffer_Release(&bounds);
    PyBuffer_Release(&out);
    if (tagged) PyBuffer_Release(&tags);
    return result;
}

/* The 32-bit k-gram hashes of atoms [lo, hi) (one gram of them all if fewer than k, none
 * if none) into out, in window order, or with `set` sorted and distinct (through
 * `scratch`, room for as many); returns how many. */
static Py_ssize_t segment_grams(const uint32_t *atoms, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t k,
                                uint64_t salt, int set, uint32_t *out, uint32_t *scratch) {
    Py_ssize_t grams = 0;
    if (hi - lo >= k) {
        Rolling window = rolling_start(atoms, lo, k, salt);
        out[grams++] = rolling_gram(&window) >> 32;
        for (Py_ssize_t i = lo; i + k < hi; i++) {
            rolling_next(&window, atoms, i, k);
            out[grams++] = rolling_gram(&window) >> 32;
        }
    } else if (hi > lo) {
        out[grams++] = gram(atoms, lo, hi, salt) >> 32;
    }
    if (set && grams > 1) {
        sort32(out, grams, scratch);
        Py_ssize_t kept = 1;
        for (Py_ssize_t i = 1; i < grams; i++)
            if (out[i] != out[kept - 1]) out[kept++] = out[i];
        grams = kept;
    }
    return grams;
}

/* The room the k-grams of every segment need, and the most one segment needs. */
static Py_ssize_t grams_room(const int64_t *at, Py_ssize_t count, Py_ssize_t k, Py_ssize_t *widest) {
    Py_ssize_t room = 0;
    *widest = 1;
    for (Py_ssize_t s = 0; s + 1 < count; s++) {
        const Py_ssize_t size = at[s + 1] - at[s];
        const Py_ssize_t grams = size >= k ? size - k + 1 : size > 0;
        room += grams;
        *widest = grams > *widest ? grams : *widest;
    }
    return room;
}

PyDoc_STRVAR(kgram_sets_doc,
             "kgram_sets(atoms, bounds, k, salt, bags, offsets, out) -> int\n\n"
             "fingerprint.segment_kgrams: the 32-bit k-gram hashes of every segment of atoms\n"
             "(segment i: atoms[bounds[i]:bounds[i + 1]]; one gram of all of a segment of\n"
             "fewer than k), sorted and distinct, or with `bags` in window order. Fills\n"
             "`offsets` (int64, one more than segments) and `out` (uint32, room for every\n"
             "window); returns the values written.");

static PyObject *kgram_sets(PyObject *self, PyObject *args) {
    Py_buffer atoms, bounds, offsets, out;
    Py_ssize_t k;
    unsigned long long salt;
    int bags;
    if (!PyArg_ParseTuple(args, "y*y*nKpw*w*", &atoms, &bounds, &k, &salt, &bags, &offsets,
                          &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *scratch = NULL;
    const Py_ssize_t n = atoms.len / 4, count = bounds.len / 8;
    const int64_t *at = bounds.buf;
    const uint32_t *a = atoms.buf;
    if (!sized(&atoms, 4, n, "atoms") || !sized(&bounds, 8, count, "bounds") ||
        !bounded(at, count, n) || !sized(&offsets, 8, count, "offsets"))
        goto done;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "k below 1");
        goto done;
    }
    Py_ssize_t widest;
    const Py_ssize_t room = grams_room(at, count, k, &widest);
    if (out.len / 4 < room) {
        PyErr_Format(PyExc_ValueError, "out: room for %zd values, %zd needed", out.len / 4, room);
        goto done;
    }
    scratch = PyMem_RawMalloc((size_t)widest * sizeof(uint32_t));
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *first = offsets.buf;
    uint32_t *values = out.buf;
    Py_ssize_t used = 0;
    Py_BEGIN_ALLOW_THREADS
    first[0] = 0;
    for (Py_ssize_t s = 0; s + 1 < count; s++) {
        used += segment_grams(a, at[s], at[s + 1], k, salt, !bags, values + used, scratch);
        first[s + 1] = used;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(used);
done:
    PyMem_RawFree(scratch);
    PyBuffer_Release(&atoms);
    PyBuffer_Release(&bounds);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&out);
    return result;
}

/* How many values two sorted sets of distinct values, u[0:nu] and v[0:nv], both hold: one
 * merge, branch-free (of sorted bags, a value held twice by each counts twice). */
static Py_ssize_t common_values(const uint32_t *u, Py_ssize_t nu, const uint32_t *v,
                                Py_ssize_t nv) {
    Py_ssize_t i = 0, j = 0, both = 0;
    while (i < nu && j < nv) {
        const uint32_t a = u[i], b = v[j];
        both += a == b;
        i += a <= b;
        j += b <= a;
    }
    return both;
}

/* A survivor's k-gram hashes as an open-addressing set (value + 1 a slot, 0 empty) of
 * mask + 1 slots, a power of two at least twice the grams: a child's grams are looked up
 * in it, each in a probe or two, not merged with all of the survivor's. */
static void fill_set(uint64_t *slots, size_t mask, const uint32_t *values, Py_ssize_t n) {
    memset(slots, 0, (mask + 1) * sizeof(uint64_t));
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint64_t v = (uint64_t)values[i] + 1;
        size_t at = (size_t)(values[i] * 0x9E3779B1u) & mask;
        while (slots[at] && slots[at] != v) at = (at + 1) & mask;
        slots[at] = v;
    }
}

/* Puts value in the set; whether it was not there before. */
static int add_to_set(uint64_t *slots, size_t mask, uint32_t value) {
    const uint64_t v = (uint64_t)value + 1;
    size_t at = (size_t)(value * 0x9E3779B1u) & mask;
    while (slots[at]) {
        if (slots[at] == v) return 0;
        at = (at + 1) & mask;
    }
    slots[at] = v;
    return 1;
}

static int in_set(const uint64_t *slots, size_t mask, uint32_t value) {
    const uint64_t v = (uint64_t)value + 1;
    for (size_t at = (size_t)(value * 0x9E3779B1u) & mask;; at = (at + 1) & mask) {
        if (slots[at] == v) return 1;
        if (!slots[at]) return 0;
    }
}

/* The set's size for n values: a power of two, at least 2n (and 16). */
static size_t set_mask(Py_ssize_t n) {
    size_t size = 16;
    while (size < 2 * (size_t)n) size *= 2;
    return size - 1;
}

PyDoc_STRVAR(covered_doc,
             "covered(survivors, survivor_bounds, children, child_bounds, owners, k, salt,\n"
             "        hits, counts)\n\n"
             "coverage._covered_group: for each child (atoms[child_bounds[i]:...]), how many\n"
             "distinct k-gram hashes it has (`counts`, int64) and how many of them its\n"
             "survivor (number owners[i]) has too (`hits`).");

static PyObject *covered(PyObject *self, PyObject *args) {
    Py_buffer sa, sb, ca, cb, own, hits, counts;
    Py_ssize_t k;
    unsigned long long salt;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*nKw*w*", &sa, &sb, &ca, &cb, &own, &k, &salt, &hits,
                          &counts))
        return NULL;
    PyObject *result = NULL;
    uint64_t *sets = NULL, *child_set = NULL;
    uint32_t *mine = NULL, *scratch = NULL;
    const Py_ssize_t survivors = sb.len / 8 - 1, children = cb.len / 8 - 1;
    const int64_t *s_at = sb.buf, *c_at = cb.buf, *owner = own.buf;
    if (survivors < 0 || children < 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: none");
        goto done;
    }
    if (!sized(&sa, 4, sa.len / 4, "survivors") || !sized(&ca, 4, ca.len / 4, "children") ||
        !bounded(s_at, survivors + 1, sa.len / 4) ||
        !bounded(c_at, children + 1, ca.len / 4) || !sized(&own, 8, children, "owners") ||
        !sized(&hits, 8, children, "hits") || !sized(&counts, 8, children, "counts"))
        goto done;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "k below 1");
        goto done;
    }
    for (Py_ssize_t c = 0; c < children; c++) {
        if (owner[c] < 0 || owner[c] >= survivors) {
            PyErr_Format(PyExc_ValueError, "owners: child %zd of survivor %lld", c,
                         (long long)owner[c]);
            goto done;
        }
    }
    Py_ssize_t s_widest, c_widest;
    grams_room(s_at, survivors + 1, k, &s_widest);
    grams_room(c_at, children + 1, k, &c_widest);
    const Py_ssize_t widest = s_widest > c_widest ? s_widest : c_widest;
    const size_t most = set_mask(s_widest);
    sets = PyMem_RawMalloc((most + 1) * sizeof(uint64_t));
    child_set = PyMem_RawMalloc((set_mask(c_widest) + 1) * sizeof(uint64_t));
    mine = PyMem_RawMalloc((size_t)widest * sizeof(uint32_t));
    scratch = PyMem_RawMalloc((size_t)widest * sizeof(uint32_t));
    if (!sets || !child_set || !mine || !scratch) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *hit = hits.buf, *size = counts.buf;
    Py_BEGIN_ALLOW_THREADS
    const uint32_t *s_atoms = sa.buf, *c_atoms = ca.buf;
    Py_ssize_t filled = -1;  /* the survivor in the set */
    size_t mask = 0;
    for (Py_ssize_t c = 0; c < children; c++) {
        if (owner[c] != filled) {  /* children come by survivor: each set made once */
            filled = owner[c];
            const Py_ssize_t n = segment_grams(s_atoms, s_at[filled], s_at[filled + 1], k, salt,
                                               0, mine, scratch);
            mask = set_mask(n);
            fill_set(sets, mask, mine, n);
        }
        /* The child's distinct grams through a set of its own (sorting them took half
         * the time of the children check), each looked up in the survivor's once. */
        const Py_ssize_t n = segment_grams(c_atoms, c_at[c], c_at[c + 1], k, salt, 0, mine, scratch);
        const size_t own_mask = set_mask(n);
        memset(child_set, 0, (own_mask + 1) * sizeof(uint64_t));
        Py_ssize_t shared = 0, distinct = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!add_to_set(child_set, own_mask, mine[i])) continue;
            distinct++;
            shared += in_set(sets, mask, mine[i]);
        }
        hit[c] = shared;
        size[c] = distinct;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyMem_RawFree(sets);
    PyMem_RawFree(child_set);
    PyMem_RawFree(mine);
    PyMem_RawFree(scratch);
    PyBuffer_Release(&sa);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&ca);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&own);
    PyBuffer_Release(&hits);
    PyBuffer_Release(&counts);
    return result;
}

/* A key and the row it is at, sorted by both: equal keys keep their rows' order. */
typedef struct {
    uint64_t key;
    int64_t row;
} keyed_row;

static int keyed_row_order(const void *x, const void *y) {
    const keyed_row *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Sorts items[0:n] by key, then row: by insertion below 32 items, else by qsort, unless
 * they are in order already (a bucket of one key repeated, its rows ascending). */
static void sort_keyed_rows(keyed_row *items, Py_ssize_t n) {
    if (n <= 32) {
        for (Py_ssize_t i = 1; i < n; i++) {
            const keyed_row item = items[i];
            Py_ssize_t j = i;
            for (; j > 0 && items[j - 1].key > item.key; j--) items[j] = items[j - 1];
            items[j] = item;
        }
        return;
    }
    for (Py_ssize_t i = 1; i < n; i++)
        if (keyed_row_order(&items[i - 1], &items[i]) > 0) {
            qsort(items, (size_t)n, sizeof(keyed_row), keyed_row_order);
            return;
        }
}

PyDoc_STRVAR(band_keys_doc,
             "band_keys(sigs, bands, rows, out)\n\n"
             "index.band_keys: the 64-bit key of each band of each signature (`sigs`, uint32,\n"
             "a row of num_perm values each) into `out` (uint64, a row of `bands` each): from\n"
             "band + 1, each of its `rows` values xor-ed in and multiplied, then folded.");

static PyObject *band_keys(PyObject *self, PyObject *args) {
    Py_buffer sigs, out;
    Py_ssize_t bands, rows;
    if (!PyArg_ParseTuple(args, "y*nnw*", &sigs, &bands, &rows, &out)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = out.len / 8 / (bands ? bands : 1);
    const Py_ssize_t num_perm = n ? sigs.len / 4 / n : 0;
    if (bands < 1 || rows < 1 || !sized(&out, 8, n * bands, "out") ||
        !sized(&sigs, 4, n * num_perm, "sigs"))
        goto done;
    if (bands * rows > num_perm && n) {
        PyErr_SetString(PyExc_ValueError, "more bands and rows than permutations");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    const uint32_t *sig = sigs.buf;
    uint64_t *key = out.buf;
    for (Py_ssize_t i = 0; i < n; i++, sig += num_perm, key += bands)
        for (Py_ssize_t band = 0; band < bands; band++) {
            uint64_t acc = (uint64_t)band + 1;
            for (Py_ssize_t col = band * rows; col < (band + 1) * rows; col++)
                acc = (acc ^ sig[col]) * 0x9E3779B97F4A7C15ull;
            key[band] = acc ^ (acc >> 29);
        }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&sigs);
    PyBuffer_Release(&out);
    return result;
}

/* Sorts the rows of keys[0:n] into items[0:n] by key, then row: split by their highest
 * bits into buckets of about eight keys (one pass to count, one to place them, rows
 * ascending within each), each bucket then sorted on its own. 0 and MemoryError if
 * there is no memory for it. */
static int bucket_sort(const uint64_t *keys, Py_ssize_t n, keyed_row *items) {
    int bits = 1;
    while (bits < 20 && ((Py_ssize_t)1 << (bits + 3)) < n) bits++;
    const Py_ssize_t buckets = (Py_ssize_t)1 << bits;
    Py_ssize_t *starts = PyMem_RawCalloc((size_t)buckets + 1, sizeof(Py_ssize_t));
    if (starts == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
    const int shift = 64 - bits;
    for (Py_ssize_t i = 0; i < n; i++) starts[(keys[i] >> shift) + 1]++;
    for (Py_ssize_t d = 0; d < buckets; d++) starts[d + 1] += starts[d];
    for (Py_ssize_t i = 0; i < n; i++) {
        const Py_ssize_t to = starts[keys[i] >> shift]++;
        items[to].key = keys[i];
        items[to].row = i;
    }
    Py_ssize_t lo = 0; /* starts[d] is now where bucket d + 1 starts */
    for (Py_ssize_t d = 0; d < buckets; lo = starts[d++])
        if (starts[d] - lo > 1) sort_keyed_rows(items + lo, starts[d] - lo);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(starts);
    return 1;
}

PyDoc_STRVAR(key_order_doc,
             "key_order(keys, order, shared) -> count\n\n"
             "order.key_order and order.shared_order: the stable ascending order of uint64\n"
             "`keys` (`shared` false), or only the rows whose key another row has too\n"
             "(true), into order[0:count] (int64, len(keys) long), sorted by the keys'\n"
             "highest bits into buckets of about eight, each then sorted on its own (a\n"
             "least-significant-digit radix sort took six passes over them).");

static PyObject *key_order(PyObject *self, PyObject *args) {
    Py_buffer keys, order;
    int shared;
    if (!PyArg_ParseTuple(args, "y*w*p", &keys, &order, &shared)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = keys.len / 8;
    keyed_row *items = NULL;
    Py_ssize_t count = 0;
    if (!sized(&keys, 8, n, "keys") || !sized(&order, 8, n, "order")) goto done;
    items = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(keyed_row));
    if (items == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (!bucket_sort(keys.buf, n, items)) goto done;
    Py_BEGIN_ALLOW_THREADS
    int64_t *out = order.buf;
    for (Py_ssize_t i = 0; i < n;) {
        Py_ssize_t j = i + 1;
        while (j < n && items[j].key == items[i].key) j++;
        if (!shared || j - i > 1)
            for (; i < j; i++) out[count++] = items[i].row;
        i = j;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(count);
done:
    PyMem_RawFree(items);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&order);
    return result;
}

PyDoc_STRVAR(shared_doc,
             "shared(pairs) -> list[int]\n\n"
             "index.shared_many: for each (a, b) of sorted sets of distinct uint32 values,\n"
             "how many values both hold.");

static PyObject *shared(PyObject *self, PyObject *pairs) {
    PyObject *seq = PySequence_Fast(pairs, "pairs: a sequence of (a, b)");
    if (seq == NULL) return NULL;
    const Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyList_New(count);
    for (Py_ssize_t p = 0; result != NULL && p < count; p++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, p);
        Py_buffer x, y;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "pairs: a sequence of (a, b)");
            Py_CLEAR(result);
            break;
        }
        if (!uint32_view(PyTuple_GET_ITEM(pair, 0), &x)) {
            Py_CLEAR(result);
            break;
        }
        if (!uint32_view(PyTuple_GET_ITEM(pair, 1), &y)) {
            PyBuffer_Release(&x);
            Py_CLEAR(result);
            break;
        }
        const Py_ssize_t both = common_values(x.buf, x.len / 4, y.buf, y.len / 4);
        PyBuffer_Release(&x);
        PyBuffer_Release(&y);
        PyObject *number = PyLong_FromSsize_t(both);
        if (number == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, p, number);
    }
    Py_DECREF(seq);
    return result;
}

PyDoc_STRVAR(shared_at_doc,
             "shared_at(values, offsets, firsts, seconds, out)\n\n"
             "index.shared_between: for each k, how many values sets firsts[k] and seconds[k]\n"
             "of one array both hold (set i is values[offsets[i]:offsets[i + 1]], sorted),\n"
             "into out[k] (int64); a value held twice by each counts twice.");

static PyObject *shared_at(PyObject *self, PyObject *args) {
    Py_buffer val, off, fst, snd, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &val, &off, &fst, &snd, &out)) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t sets = off.len / 8 - 1, pairs = fst.len / 8;
    const int64_t *at = off.buf, *first = fst.buf, *second = snd.buf;
    if (sets < 0) {
        PyErr_SetString(PyExc_ValueError, "offsets: none");
        goto done;
    }
    if (!sized(&val, 4, val.len / 4, "values") || !bounded(at, sets + 1, val.len / 4) ||
        !sized(&fst, 8, pairs, "firsts") || !sized(&snd, 8, pairs, "seconds") || !sized(&out, 8, pairs, "out"))
        goto done;
    for (Py_ssize_t k = 0; k < pairs; k++) {
        if (first[k] < 0 || first[k] >= sets || second[k] < 0 || second[k] >= sets) {
            PyErr_Format(PyExc_ValueError, "pair %zd: no set %lld or %lld", k,
                         (long long)first[k], (long long)second[k]);
            goto done;
        }
    }
    int64_t *both = out.buf;
    const uint32_t *values = val.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < pairs; k++) {
        const int64_t x = first[k], y = second[k];
        both[k] = common_values(values + at[x], at[x + 1] - at[x], values + at[y],
                                at[y + 1] - at[y]);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&val);
    PyBuffer_Release(&off);
    PyBuffer_Release(&fst);
    PyBuffer_Release(&snd);
    PyBuffer_Release(&out);
    return result;
}

PyMethodDef dedup_shingle_methods[] = {
    {"part_minima", part_minima, METH_VARARGS, part_minima_doc},
    {"xxh32_spans", xxh32_spans, METH_VARARGS, xxh32_spans_doc},
    {"text_token_hashes", text_token_hashes, METH_VARARGS, text_token_hashes_doc},
    {"gram_keys", gram_keys, METH_VARARGS, gram_keys_doc},
    {"kgram_sets", kgram_sets, METH_VARARGS, kgram_sets_doc},
    {"shared", shared, METH_O, shared_doc},
    {"shared_at", shared_at, METH_VARARGS, shared_at_doc},
    {"covered", covered, METH_VARARGS, covered_doc},
    {"band_keys", band_keys, METH_VARARGS, band_keys_doc},
    {"run_minima", run_minima, METH_VARARGS, run_minima_doc},
    {"key_order", key_order, METH_VARARGS, key_order_doc},
    {NULL, NULL, 0, NULL},
};
