/* What the C loops of dedup._native share: Python's headers, the xxh32 and SplitMix64
 * hashes, the k-gram hash, sorting, and the checks of the buffers they are given (see
 * module.c). */
#ifndef DEDUP_NATIVE_COMMON_H
#define DEDUP_NATIVE_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Where GCC or clang can build a function twice and pick the AVX2 one at load time (an
 * ifunc: glibc on x86-64; musl has none), the MinHash loop gets both: 8 permutations an
 * instruction there, and still runs on any x86-64. */
#if defined(__x86_64__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
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

/* xxh32 of len bytes with a seed, as the xxHash specification defines it. */
static inline uint32_t xxh32_seeded(const unsigned char *p, Py_ssize_t len, uint32_t seed) {
    const unsigned char *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
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
        h = seed + P5;
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

/* xxh32 with seed 0. */
static inline uint32_t xxh32(const unsigned char *p, Py_ssize_t len) {
    return xxh32_seeded(p, len, 0);
}

/* Room for `need` items of `size` bytes in a buffer that grows (doubling, from 64): 0,
 * and MemoryError, if there is none. */
static inline int grow(void **at, Py_ssize_t *room, Py_ssize_t need, size_t size) {
    if (need <= *room) return 1;
    Py_ssize_t more = *room ? *room : 64;
    while (more < need) more *= 2;
    void *grown = PyMem_RawRealloc(*at, (size_t)more * size);
    if (grown == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    *at = grown;
    *room = more;
    return 1;
}

/* Whether every item of a list is a str; else 0 and a TypeError naming the first not. */
static inline int all_str(PyObject *list) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++)
        if (!PyUnicode_Check(PyList_GET_ITEM(list, i))) {
            PyErr_Format(PyExc_TypeError, "texts[%zd] is not a str", i);
            return 0;
        }
    return 1;
}

/* Whether a buffer holds `count` items of `size` bytes. */
static inline int sized(Py_buffer *view, Py_ssize_t size, Py_ssize_t count, const char *name) {
    if (view->len != size * count) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, expected %zd", name, view->len,
                     size * count);
        return 0;
    }
    return 1;
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

/* gram() of the windows of k atoms, one after another: the polynomial rolled from one
 * window to the next (the term of the atom that leaves taken out, that of the atom that
 * comes added), the same values in wrapping arithmetic for two multiplications a window
 * instead of k.  `head` is salt * POLY ** k, `top` POLY ** (k - 1). */
typedef struct {
    uint64_t head, top, sum;
} Rolling;

static inline Rolling rolling_start(const uint32_t *atoms, Py_ssize_t at, Py_ssize_t k, uint64_t salt) {
    Rolling r = {salt, 1, 0};
    for (Py_ssize_t j = 0; j < k; j++) {
        r.head *= POLY;
        if (j) r.top *= POLY;
        r.sum = r.sum * POLY + ((uint64_t)atoms[at + j] + 1);
    }
    return r;
}

/* The window starting at `at` + 1, from the one starting at `at`. */
static inline void rolling_next(Rolling *r, const uint32_t *atoms, Py_ssize_t at, Py_ssize_t k) {
    r->sum = (r->sum - ((uint64_t)atoms[at] + 1) * r->top) * POLY + ((uint64_t)atoms[at + k] + 1);
}

static inline uint64_t rolling_gram(const Rolling *r) { return mix64(r->head + r->sum); }

/* Whether segment bounds are ascending from 0 to n. */
static inline int bounded(const int64_t *bounds, Py_ssize_t count, Py_ssize_t n) {
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

/* Sorts values[0:n] ascending: insertion for a few, else a radix sort by bytes through
 * `scratch` (room for n). */
static inline void sort32(uint32_t *values, Py_ssize_t n, uint32_t *scratch) {
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

/* A C-contiguous buffer of 4-byte unsigned integers (a uint32 array), or an error. */
static inline int uint32_view(PyObject *object, Py_buffer *view) {
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

/* A str's characters: their width (PyUnicode_KIND) and where they are. */
typedef struct {
    int kind;
    const void *data;
} Text;

/* LOOP(T), T the type of the text's characters: a loop over them without PyUnicode_READ's
 * switch at every character. */
#define BY_KIND(t, LOOP)                              \
    do {                                              \
        if ((t)->kind == PyUnicode_1BYTE_KIND) {      \
            LOOP(Py_UCS1)                             \
        } else if ((t)->kind == PyUnicode_2BYTE_KIND) { \
            LOOP(Py_UCS2)                             \
        } else {                                      \
            LOOP(Py_UCS4)                             \
        }                                             \
    } while (0)

/* One code point in UTF-8 (a surrogate as 'surrogatepass' writes it); past its bytes. */
static inline unsigned char *put_utf8(unsigned char *out, Py_UCS4 c) {
    if (c < 0x80) {
        *out++ = (unsigned char)c;
    } else if (c < 0x800) {
        *out++ = (unsigned char)(0xC0 | c >> 6);
        *out++ = (unsigned char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *out++ = (unsigned char)(0xE0 | c >> 12);
        *out++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        *out++ = (unsigned char)(0x80 | (c & 0x3F));
    } else {
        *out++ = (unsigned char)(0xF0 | c >> 18);
        *out++ = (unsigned char)(0x80 | (c >> 12 & 0x3F));
        *out++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        *out++ = (unsigned char)(0x80 | (c & 0x3F));
    }
    return out;
}

/* Spans (start, end) as they are found: int64 pairs in a buffer that grows. */
typedef struct {
    int64_t *at;
    Py_ssize_t count, room;
} Spans;

/* Appends the span (a, b); 0 (and MemoryError) if there is no room for it. */
static inline int add_span(Spans *spans, Py_ssize_t a, Py_ssize_t b) {
    void *at = spans->at;
    if (!grow(&at, &spans->room, spans->count + 1, 2 * sizeof(int64_t))) return 0;
    spans->at = at;
    spans->at[2 * spans->count] = a;
    spans->at[2 * spans->count + 1] = b;
    spans->count++;
    return 1;
}

/* The spans as a list of (start, end) tuples, the buffer freed; NULL on error. */
static inline PyObject *span_list(Spans *spans) {
    PyObject *out = PyList_New(spans->count);
    for (Py_ssize_t i = 0; out != NULL && i < spans->count; i++) {
        PyObject *span = Py_BuildValue("(LL)", (long long)spans->at[2 * i],
                                       (long long)spans->at[2 * i + 1]);
        if (span == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, span);
    }
    PyMem_RawFree(spans->at);
    spans->at = NULL;
    spans->count = spans->room = 0;
    return out;
}

/* segment.sentences of each paragraph (count (start, end) pairs, in order) of a text,
 * appended to `out`; 0 on error (a span outside the text: ValueError). text.c. */
int dedup_sentence_spans(int kind, const void *data, Py_ssize_t length, const int64_t *paras,
                         Py_ssize_t count, Spans *out);

/* The functions of each source file, for the module (module.c). */

extern PyMethodDef dedup_shingle_methods[];
extern PyMethodDef dedup_text_methods[];
extern PyMethodDef dedup_edit_key_methods[];
extern PyMethodDef dedup_paragraph_methods[];
extern PyMethodDef dedup_line_methods[];

#endif
