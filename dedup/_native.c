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

static PyMethodDef methods[] = {
    {"part_minima", part_minima, METH_VARARGS, part_minima_doc},
    {"xxh32_spans", xxh32_spans, METH_VARARGS, xxh32_spans_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dedup._native",
    "The innermost loops of fingerprinting and verification, in C (see dedup.native).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
