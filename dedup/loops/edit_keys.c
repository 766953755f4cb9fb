/* Edit keys: edit_keys.deletion_keys and segment_keys, term for term. */
#include "common.h"

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
    uint64_t *terms = NULL, *wholes = NULL;  /* wholes: each non-empty text's whole sum */
    int64_t *whole_of = NULL;               /* and its number */
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
    wholes = PyMem_RawMalloc((size_t)(count ? count : 1) * sizeof(uint64_t));
    whole_of = PyMem_RawMalloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!terms || !goes || !wholes || !whole_of) {
        PyErr_NoMemory();
        goto done;
    }
    const uint32_t *a = atoms.buf;
    int64_t *owner = owners.buf;
    uint64_t *key = keys.buf;
    Py_ssize_t used = 0, filled = 0;
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
        wholes[filled] = total;
        whole_of[filled++] = t;
    }
    /* then each non-empty text whole, after every deletion key */
    for (Py_ssize_t w = 0; w < filled; w++) {
        owner[used] = whole_of[w];
        key[used++] = mix64(wholes[w]);
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(used);
done:
    PyMem_RawFree(terms);
    PyMem_RawFree(goes);
    PyMem_RawFree(wholes);
    PyMem_RawFree(whole_of);
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

PyMethodDef dedup_edit_key_methods[] = {
    {"deletion_keys", deletion_keys, METH_VARARGS, deletion_keys_doc},
    {"segment_keys", segment_keys, METH_VARARGS, segment_keys_doc},
    {NULL, NULL, 0, NULL},
};
