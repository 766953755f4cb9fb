/* dedup._native: the innermost loops of fingerprinting and verification, in C.
 *
 * Each function takes C-contiguous buffers (numpy arrays, bytes) and fills an output
 * buffer the caller allocated, so that the module needs nothing but Python's headers.
 * They compute exactly what their numpy twins compute (dedup/fingerprint.py,
 * dedup/tokens.py), which stay as the reference: tests/test_native.py holds the two to
 * the same values, and dedup runs on the numpy twins where this module was not built.
 *
 *   part_minima(values, cuts, a, b, out)   the affine32 MinHash of every part of a run
 *   xxh32_spans(data, starts, ends, out)   xxh32 (seed 0) of every span of a byte string
 *   gram_keys(atoms, bounds, k, salt, tags, shift, out)
 *                                          the k-gram keys of segments of atoms, in order
 *   kgram_sets(atoms, bounds, k, salt, bags, offsets, out)
 *                                          each segment's k-gram hashes, as a set or a bag
 *   shared(pairs)                          the values each pair of sorted sets shares
 *   covered(...)                           the k-grams of children their survivors have
 *   wide_codes(data)                       the distinct code points past ASCII of UTF-8
 *   fold(data, table, codes, images, ends) normalize._fold_simple's bytes to its string
 *   sentences(text, paragraphs)            segment.sentences of every paragraph of a text
 *   deletion_keys(atoms, bounds, owners, keys)   edit_keys.deletion_keys
 *   segment_keys(data, texts, owners, keys)      edit_keys.segment_keys
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Where GCC or clang can build a function twice and pick the AVX2 one at load time (an
 * ifunc: Linux on x86-64), the MinHash loop gets both: 8 permutations an instruction
 * there, and still runs on any x86-64. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define DEDUP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DEDUP_CLONES
#endif

#define P1 0x9E3779B1u
#define P2 0x85EBCA77u
#define P3 0xC2B2AE3Du
#define P4 0x27D4EB2Fu
#define P5 0x165667B1u

/* The most permutations a signature may have here: the accumulator lives on the stack. */
#define MAX_PERM 4096

static inline uint32_t rotl32(uint32_t x, int bits) { return (x << bits) | (x >> (32 - bits)); }

static inline uint32_t read32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* MurmurHash3's 32-bit finalizer, as datasketch's affine32 scheme applies it. */
static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t xxh32_round(uint32_t acc, uint32_t input) {
    acc += input * P2;
    return rotl32(acc, 13) * P1;
}

/* xxh32 of len bytes with seed 0, as the xxHash specification defines it. */
static uint32_t xxh32(const unsigned char *p, Py_ssize_t len) {
    const unsigned char *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0u - P1;
        const unsigned char *limit = end - 16;
        do {
            v1 = xxh32_round(v1, read32(p));
            v2 = xxh32_round(v2, read32(p + 4));
            v3 = xxh32_round(v3, read32(p + 8));
            v4 = xxh32_round(v4, read32(p + 12));
            p += 16;
        } while (p <= limit);
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = P5;
    }
    h += (uint32_t)len;
    for (; p + 4 <= end; p += 4) h = rotl32(h + read32(p) * P3, 17) * P4;
    for (; p < end; p++) h = rotl32(h + (uint32_t)(*p) * P5, 11) * P1;
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

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

/* Whether a buffer holds `count` items of `size` bytes. */
static int sized(Py_buffer *view, Py_ssize_t size, Py_ssize_t count, const char *name) {
    if (view->len != size * count) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, expected %zd", name, view->len,
                     size * count);
        return 0;
    }
    return 1;
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

#define POLY 0x100000001B3ull
#define SEGMENT_COUNT 3  /* edit_keys.SEGMENTS */
#define UNUSED UINT64_MAX

/* SplitMix64's finalizer. */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The 64-bit hash of atoms [lo, hi) as a k-gram: a polynomial over atom + 1 from salt. */
static inline uint64_t gram(const uint32_t *atoms, Py_ssize_t lo, Py_ssize_t hi, uint64_t salt) {
    uint64_t acc = salt;
    for (Py_ssize_t i = lo; i < hi; i++) acc = acc * POLY + ((uint64_t)atoms[i] + 1);
    return mix64(acc);
}

/* Whether segment bounds are ascending from 0 to n. */
static int bounded(const int64_t *bounds, Py_ssize_t count, Py_ssize_t n) {
    if (count < 1 || bounds[0] != 0 || bounds[count - 1] != n) {
        PyErr_SetString(PyExc_ValueError, "bounds: not from 0 to the atoms' end");
        return 0;
    }
    for (Py_ssize_t i = 1; i < count; i++) {
        if (bounds[i] < bounds[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "bounds: not ascending");
            return 0;
        }
    }
    return 1;
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
    for (Py_ssize_t i = 0; i < windows; i++) {
        while (at[s + 1] <= i) s++;  /* the segment window i starts in */
        if (i + k > at[s + 1]) {
            keys[i] = UNUSED;
            continue;
        }
        const uint64_t key = (gram(a, i, i + k, salt) >> 32) << shift;
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

/* Sorts values[0:n] ascending: insertion for a few, else a radix sort by bytes through
 * `scratch` (room for n). */
static void sort32(uint32_t *values, Py_ssize_t n, uint32_t *scratch) {
    if (n <= 48) {
        for (Py_ssize_t i = 1; i < n; i++) {
            const uint32_t v = values[i];
            Py_ssize_t j = i;
            for (; j > 0 && values[j - 1] > v; j--) values[j] = values[j - 1];
            values[j] = v;
        }
        return;
    }
    uint32_t *from = values, *to = scratch;
    for (int byte = 0; byte < 4; byte++) {
        Py_ssize_t counts[257] = {0};
        const int shift = 8 * byte;
        for (Py_ssize_t i = 0; i < n; i++) counts[((from[i] >> shift) & 0xFF) + 1]++;
        for (int d = 0; d < 256; d++) counts[d + 1] += counts[d];
        for (Py_ssize_t i = 0; i < n; i++) to[counts[(from[i] >> shift) & 0xFF]++] = from[i];
        uint32_t *swap = from;
        from = to;
        to = swap;
    }
    /* four passes: the sorted values are back in `values` */
}

/* The 32-bit k-gram hashes of atoms [lo, hi) (one gram of them all if fewer than k, none
 * if none) into out, in window order, or with `set` sorted and distinct (through
 * `scratch`, room for as many); returns how many. */
static Py_ssize_t segment_grams(const uint32_t *atoms, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t k,
                                uint64_t salt, int set, uint32_t *out, uint32_t *scratch) {
    Py_ssize_t grams = 0;
    if (hi - lo >= k) {
        for (Py_ssize_t i = lo; i + k <= hi; i++) out[grams++] = gram(atoms, i, i + k, salt) >> 32;
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

/* A C-contiguous buffer of 4-byte unsigned integers (a uint32 array), or an error. */
static int uint32_view(PyObject *object, Py_buffer *view) {
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return 0;
    const char *format = view->format ? view->format : "B";
    if (*format == '<' || *format == '=' || *format == '@') format++;
    if (view->itemsize != 4 || (strcmp(format, "I") != 0 && strcmp(format, "L") != 0)) {
        PyErr_Format(PyExc_TypeError, "a set must be uint32, not format '%s'", view->format);
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
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
    uint32_t *sets = NULL, *mine = NULL, *scratch = NULL;
    int64_t *starts = NULL;
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
    const Py_ssize_t room = grams_room(s_at, survivors + 1, k, &s_widest);
    grams_room(c_at, children + 1, k, &c_widest);
    const Py_ssize_t widest = s_widest > c_widest ? s_widest : c_widest;
    sets = PyMem_RawMalloc((size_t)(room ? room : 1) * sizeof(uint32_t));
    starts = PyMem_RawMalloc((size_t)(survivors + 1) * sizeof(int64_t));
    mine = PyMem_RawMalloc((size_t)widest * sizeof(uint32_t));
    scratch = PyMem_RawMalloc((size_t)widest * sizeof(uint32_t));
    if (!sets || !starts || !mine || !scratch) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *hit = hits.buf, *size = counts.buf;
    Py_BEGIN_ALLOW_THREADS
    const uint32_t *s_atoms = sa.buf, *c_atoms = ca.buf;
    starts[0] = 0;
    for (Py_ssize_t s = 0; s < survivors; s++)
        starts[s + 1] = starts[s] + segment_grams(s_atoms, s_at[s], s_at[s + 1], k, salt, 1,
                                                  sets + starts[s], scratch);
    for (Py_ssize_t c = 0; c < children; c++) {
        const Py_ssize_t n = segment_grams(c_atoms, c_at[c], c_at[c + 1], k, salt, 1, mine, scratch);
        const uint32_t *theirs = sets + starts[owner[c]];
        const Py_ssize_t m = starts[owner[c] + 1] - starts[owner[c]];
        Py_ssize_t i = 0, j = 0, both = 0;
        while (i < n && j < m) {
            const uint32_t x = mine[i], y = theirs[j];
            both += x == y;
            i += x <= y;
            j += y <= x;
        }
        hit[c] = both;
        size[c] = n;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyMem_RawFree(sets);
    PyMem_RawFree(starts);
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
        const uint32_t *u = x.buf, *v = y.buf;
        const Py_ssize_t nu = x.len / 4, nv = y.len / 4;
        Py_ssize_t i = 0, j = 0, both = 0;
        while (i < nu && j < nv) {
            const uint32_t a = u[i], b = v[j];
            both += a == b;
            i += a <= b;
            j += b <= a;
        }
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

/* The code point of the UTF-8 character starting at p (its lead byte >= 0xC0), and its
 * width; the text is valid UTF-8 (Python encoded it). */
static inline uint32_t decode(const unsigned char *p, const unsigned char *end, int *width) {
    const unsigned char lead = p[0];
    const int w = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t code = w == 2 ? lead & 0x1F : w == 3 ? lead & 0x0F : lead & 0x07;
    for (int i = 1; i < w && p + i < end; i++) code = code << 6 | (p[i] & 0x3F);
    *width = w;
    return code;
}

PyDoc_STRVAR(wide_codes_doc,
             "wide_codes(data) -> list[int]\n\n"
             "The distinct code points past ASCII of UTF-8 `data`, ascending.");

static PyObject *wide_codes(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    const unsigned char *p = data.buf, *end = p + data.len;
    Py_ssize_t count = 0;
    for (const unsigned char *q = p; q < end; q++) count += *q >= 0xC0;
    uint32_t *codes = PyMem_RawMalloc((size_t)(count ? count : 1) * 2 * sizeof(uint32_t));
    if (codes == NULL) {
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    Py_ssize_t n = 0;
    int width;
    for (const unsigned char *q = p; q < end; q++)
        if (*q >= 0xC0) codes[n++] = decode(q, end, &width);
    sort32(codes, n, codes + count);
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        if (i && codes[i] == codes[i - 1]) continue;
        PyObject *code = PyLong_FromUnsignedLong(codes[i]);
        if (code == NULL || PyList_Append(out, code) < 0) Py_CLEAR(out);
        Py_XDECREF(code);
    }
    PyMem_RawFree(codes);
    PyBuffer_Release(&data);
    return out;
}

#define SEPARATOR 0x1E

PyDoc_STRVAR(fold_doc,
             "fold(data, table, codes, images, ends) -> str\n\n"
             "normalize._fold_simple on UTF-8 `data`: each character past ASCII among `codes`\n"
             "(uint32, ascending) replaced by its image (image i: images[ends[i - 1]:ends[i]],\n"
             "int64 ends), then every ASCII byte through `table` (256 bytes) with ' and `\n"
             "deleted, then runs of spaces made one, none at the start or end of a piece\n"
             "(pieces are cut by the byte 0x1E).");

static PyObject *fold(PyObject *self, PyObject *args) {
    Py_buffer data, table, codes, images, ends;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &data, &table, &codes, &images, &ends)) return NULL;
    PyObject *result = NULL;
    unsigned char *out = NULL;
    const Py_ssize_t changed = codes.len / 4;
    const uint32_t *code_of = codes.buf;
    const int64_t *end_of = ends.buf;
    if (!sized(&table, 1, 256, "table") || !sized(&codes, 4, changed, "codes") ||
        !sized(&ends, 8, changed, "ends"))
        goto done;
    Py_ssize_t longest = 2;  /* the longest image: a character it replaces has 2 bytes or more */
    for (Py_ssize_t i = 0; i < changed; i++) {
        const int64_t lo = i ? end_of[i - 1] : 0;
        if (lo > end_of[i] || end_of[i] > images.len) {
            PyErr_SetString(PyExc_ValueError, "ends: not ascending within the images");
            goto done;
        }
        longest = end_of[i] - lo > longest ? end_of[i] - lo : longest;
    }
    out = PyMem_RawMalloc((size_t)data.len * (size_t)((longest + 1) / 2) + 1);
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Two passes, each free of branches on the common bytes (a space between words is as
     * likely as a letter, and a mispredicted branch a byte cost more than the work): the
     * bytes mapped, apostrophes deleted and images put in; then the spaces collapsed. */
    unsigned char map[256], keep[256];
    memcpy(map, table.buf, 256);
    for (int b = 0; b < 256; b++) {
        keep[b] = b != '\'' && b != '`';
        if (b >= 0x80) map[b] = (unsigned char)b;
    }
    const unsigned char *image_bytes = images.buf;
    const unsigned char *p = data.buf, *stop = p + data.len;
    Py_ssize_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < stop) {
        const unsigned char byte = *p;
        if (byte < 0xC0) {  /* ASCII (a continuation byte is never met here) */
            out[n] = map[byte];
            n += keep[byte];
            p++;
            continue;
        }
        int width;
        const uint32_t code = decode(p, stop, &width);
        Py_ssize_t lo = 0, hi = changed;  /* the code among those that change */
        while (lo < hi) {
            const Py_ssize_t mid = (lo + hi) / 2;
            if (code_of[mid] < code) lo = mid + 1;
            else hi = mid;
        }
        if (lo < changed && code_of[lo] == code) {
            for (int64_t i = lo ? end_of[lo - 1] : 0; i < end_of[lo]; i++) {
                const unsigned char b = image_bytes[i];
                out[n] = map[b];
                n += keep[b];
            }
        } else {
            for (int i = 0; i < width && p + i < stop; i++) out[n++] = p[i];
        }
        p += width;
    }
    /* A space stays right after a solid byte (neither a space nor the separator), and
     * goes again where the separator or the end follows it. */
    Py_ssize_t m = 0;
    int solid = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char c = out[i];
        const int space = c == ' ', cut = c == SEPARATOR;
        if (cut && m && out[m - 1] == ' ') m--;
        out[m] = c;
        m += (!space) | solid;
        solid = !space & !cut;
    }
    if (m && out[m - 1] == ' ') m--;
    n = m;
    Py_END_ALLOW_THREADS
    result = PyUnicode_DecodeUTF8((const char *)out, n, "strict");
done:
    PyMem_RawFree(out);
    PyBuffer_Release(&data);
    PyBuffer_Release(&table);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&images);
    PyBuffer_Release(&ends);
    return result;
}

/* --- sentences: segment.sentences, a rule for a rule (see dedup/segment.py) ---------- */

static inline int is_mark(Py_UCS4 c) { return c == '.' || c == '!' || c == '?' || c == 0x2026; }

static inline int is_closer(Py_UCS4 c) {
    return c == '"' || c == '\'' || c == 0xBB || c == 0x201D || c == 0x2019 || c == ')' ||
           c == ']';
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

/* Appends the span (a, b) to a list; 0 on error. */
static int add_span(PyObject *list, Py_ssize_t a, Py_ssize_t b) {
    PyObject *span = Py_BuildValue("(nn)", a, b);
    if (span == NULL) return 0;
    const int failed = PyList_Append(list, span);
    Py_DECREF(span);
    return failed == 0;
}

PyDoc_STRVAR(sentences_doc,
             "sentences(text, paragraphs) -> list[tuple[int, int]]\n\n"
             "segment.sentences of each paragraph span of `text` (int64, a (start, end) pair\n"
             "each, in order), one list.");

static PyObject *sentences(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer paras;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &paras)) return NULL;
    PyObject *out = NULL;
    const Py_ssize_t count = paras.len / 16, length = PyUnicode_GET_LENGTH(text);
    const int64_t *span = paras.buf;
    if (!sized(&paras, 16, count, "paragraphs")) goto done;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    out = PyList_New(0);
    for (Py_ssize_t k = 0; out != NULL && k < count; k++) {
        const Py_ssize_t start = span[2 * k], end = span[2 * k + 1];
        if (start < 0 || start > end || end > length) {
            PyErr_SetString(PyExc_ValueError, "paragraphs: a span outside the text");
            Py_CLEAR(out);
            break;
        }
        Py_ssize_t first = start, done = start;
        for (Py_ssize_t at = start; at < end; at++) {
            if (at < done || !is_mark(PyUnicode_READ(kind, data, at))) continue;
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
            if (!add_span(out, first, gap_start)) {
                Py_CLEAR(out);
                break;
            }
            first = gap_end;
        }
        if (out != NULL && !add_span(out, first, end)) Py_CLEAR(out);
    }
done:
    PyBuffer_Release(&paras);
    return out;
}

/* --- edit keys: edit_keys.deletion_keys and segment_keys, term for term ------------- */

#define POLY_INVERSE 0xCE965057AFF6957Bull  /* POLY ** -1 mod 2 ** 64 */

PyDoc_STRVAR(deletion_keys_doc,
             "deletion_keys(atoms, bounds, owners, keys) -> int\n\n"
             "edit_keys.deletion_keys of texts given as code points (uint32, text i from\n"
             "bounds[i] to bounds[i + 1]): first each text's keys with one character left out\n"
             "(none of a word with an ASCII digit), then each non-empty text's key whole, with\n"
             "spaces left out; (text, key) rows into `owners` (int64) and `keys` (uint64).\n"
             "Returns the rows written.");

static PyObject *deletion_keys(PyObject *self, PyObject *args) {
    Py_buffer atoms, bounds, owners, keys;
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &atoms, &bounds, &owners, &keys)) return NULL;
    PyObject *result = NULL;
    uint64_t *terms = NULL;
    unsigned char *goes = NULL;
    const Py_ssize_t n = atoms.len / 4, count = bounds.len / 8 - 1;
    const int64_t *at = bounds.buf;
    if (count < 0) {
        PyErr_SetString(PyExc_ValueError, "bounds: none");
        goto done;
    }
    if (!sized(&atoms, 4, n, "atoms") || !bounded(at, count + 1, n) ||
        !sized(&keys, 8, owners.len / 8, "keys") || owners.len / 8 < n + count) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "owners: too short");
        goto done;
    }
    terms = PyMem_RawMalloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    goes = PyMem_RawMalloc((size_t)(n ? n : 1));
    if (!terms || !goes) {
        PyErr_NoMemory();
        goto done;
    }
    const uint32_t *a = atoms.buf;
    int64_t *owner = owners.buf;
    uint64_t *key = keys.buf;
    Py_ssize_t used = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < count; t++) {
        /* the text without its spaces, into terms[0:m], and which characters may go */
        Py_ssize_t m = 0, word = 0;
        for (Py_ssize_t i = at[t]; i <= at[t + 1]; i++) {
            if (i == at[t + 1] || a[i] == ' ') {  /* a word ends: may its characters go? */
                int digits = 0;
                for (Py_ssize_t j = word; j < m; j++) digits |= terms[j] >= '0' && terms[j] <= '9';
                for (Py_ssize_t j = word; j < m; j++) goes[j] = !digits;
                word = m;
                continue;
            }
            terms[m++] = a[i];
        }
        if (!m) continue;
        /* term j: (atom + 1) * POLY ** (m - 1 - j); a key leaves one term out */
        uint64_t power = 1, total = 0;
        for (Py_ssize_t j = m - 1; j >= 0; j--) {
            terms[j] = (terms[j] + 1) * power;
            total += terms[j];
            power *= POLY;
        }
        uint64_t prefix = 0;
        for (Py_ssize_t j = 0; j < m; j++) {
            if (goes[j]) {
                owner[used] = t;
                key[used++] = mix64(prefix * POLY_INVERSE + (total - prefix - terms[j]));
            }
            prefix += terms[j];
        }
    }
    /* then each non-empty text whole: its total again (cheap), after every deletion key */
    for (Py_ssize_t t = 0; t < count; t++) {
        uint64_t total = 0;
        Py_ssize_t m = 0;
        for (Py_ssize_t i = at[t]; i < at[t + 1]; i++) {
            if (a[i] == ' ') continue;
            total = total * POLY + ((uint64_t)a[i] + 1);
            m++;
        }
        if (m) {
            owner[used] = t;
            key[used++] = mix64(total);
        }
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(used);
done:
    PyMem_RawFree(terms);
    PyMem_RawFree(goes);
    PyBuffer_Release(&atoms);
    PyBuffer_Release(&bounds);
    PyBuffer_Release(&owners);
    PyBuffer_Release(&keys);
    return result;
}

PyDoc_STRVAR(segment_keys_doc,
             "segment_keys(data, texts, owners, keys) -> int\n\n"
             "edit_keys.segment_keys of `texts` normalized texts joined by newlines (UTF-8\n"
             "`data`, words cut at bytes of 32 or below): each text's runs of words, a\n"
             "(text, key) row each into `owners` (int64) and `keys` (uint64), in order.\n"
             "Returns the rows written.");

static PyObject *segment_keys(PyObject *self, PyObject *args) {
    Py_buffer data, owners, keys;
    Py_ssize_t texts;
    if (!PyArg_ParseTuple(args, "y*nw*w*", &data, &texts, &owners, &keys)) return NULL;
    PyObject *result = NULL;
    uint64_t *hashes = NULL;
    const unsigned char *p = data.buf;
    Py_ssize_t tokens = 1;
    for (Py_ssize_t i = 0; i < data.len; i++) tokens += p[i] <= 32;
    if (texts < 1 || !sized(&keys, 8, owners.len / 8, "keys") ||
        owners.len / 8 < SEGMENT_COUNT * texts) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "owners: too short");
        goto done;
    }
    hashes = PyMem_RawMalloc((size_t)tokens * sizeof(uint64_t));
    if (hashes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *owner = owners.buf;
    uint64_t *key = keys.buf;
    Py_ssize_t used = 0, text = 0, first = 0, word = 0, start = 0, bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i <= data.len; i++) {
        if (i < data.len && p[i] > 32) continue;
        hashes[word++] = (uint64_t)xxh32(p + start, i - start) + 1;
        start = i + 1;
        if (i < data.len && p[i] != '\n') continue;
        /* the text of words [first, word) ends: its runs, word j in segment
         * ((j + 1) * SEGMENTS - 1) // n, each a polynomial of its words' hashes */
        const Py_ssize_t n = word - first;
        if (text >= texts) {
            bad = 1;
            break;
        }
        Py_ssize_t j = 0;
        while (j < n) {
            const Py_ssize_t segment = ((j + 1) * SEGMENT_COUNT - 1) / n;
            uint64_t sum = 0;
            for (; j < n && ((j + 1) * SEGMENT_COUNT - 1) / n == segment; j++)
                sum = sum * POLY + hashes[first + j];
            const uint64_t tag = (uint64_t)n * SEGMENT_COUNT + (uint64_t)segment;
            owner[used] = text;
            key[used++] = mix64(sum ^ mix64(tag + 0x9E3779B97F4A7C15ull));
        }
        text++;
        first = word;
    }
    Py_END_ALLOW_THREADS
    if (bad || text != texts) {
        PyErr_SetString(PyExc_ValueError, "texts: not as many as the data's lines");
        goto done;
    }
    result = PyLong_FromSsize_t(used);
done:
    PyMem_RawFree(hashes);
    PyBuffer_Release(&data);
    PyBuffer_Release(&owners);
    PyBuffer_Release(&keys);
    return result;
}

static PyMethodDef methods[] = {
    {"part_minima", part_minima, METH_VARARGS, part_minima_doc},
    {"xxh32_spans", xxh32_spans, METH_VARARGS, xxh32_spans_doc},
    {"gram_keys", gram_keys, METH_VARARGS, gram_keys_doc},
    {"kgram_sets", kgram_sets, METH_VARARGS, kgram_sets_doc},
    {"shared", shared, METH_O, shared_doc},
    {"covered", covered, METH_VARARGS, covered_doc},
    {"wide_codes", wide_codes, METH_VARARGS, wide_codes_doc},
    {"fold", fold, METH_VARARGS, fold_doc},
    {"sentences", sentences, METH_VARARGS, sentences_doc},
    {"deletion_keys", deletion_keys, METH_VARARGS, deletion_keys_doc},
    {"segment_keys", segment_keys, METH_VARARGS, segment_keys_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dedup._native",
    "The innermost loops of fingerprinting and verification, in C (see dedup.native).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
