/* dedup._native: the innermost loops of fingerprinting and verification, in C.
 *
 * Each function takes C-contiguous buffers (numpy arrays, bytes) and fills an output
 * buffer the caller allocated, so that the module needs nothing but Python's headers.
 * Each computes exactly what the numpy or Python code it stands for computes (the
 * function that calls it says so), which stays as the reference: tests/test_native.py
 * holds the two to the same values, and dedup runs that code where this module was not
 * built.  shingles.c holds the MinHash and shingle loops, text.c normalization and
 * sentences, paragraphs.c paragraphs and sections, edit_keys.c the edit keys, lines.c the
 * numbers and labels of short lines and the text of a JSONL line, common.h what they
 * share; this file the module.
 *
 *   part_minima(values, cuts, a, b, out)   the affine32 MinHash of every part of a run
 *   run_minima(rows, heads, counts, out)   the MinHash of runs of parts, their minimum
 *   xxh32_spans(data, starts, ends, out)   xxh32 (seed 0) of every span of a byte string
 *   gram_keys(atoms, bounds, k, salt, tags, shift, out)
 *                                          the k-gram keys of segments of atoms, in order
 *   kgram_sets(atoms, bounds, k, salt, bags, offsets, out)
 *                                          each segment's k-gram hashes, as a set or a bag
 *   shared(pairs)                          the values each pair of sorted sets shares
 *   covered(...)                           the k-grams of children their survivors have
 *   band_keys(sigs, bands, rows, out)      index.band_keys: the LSH key of every band
 *   key_order(keys, order, shared) -> count
 *                                          the stable order of 64-bit keys, or of the
 *                                          rows of those another row shares
 *   fold_texts(texts, table, codes, images, ends, bad[, spaces])
 *                                          normalize._fold_texts: each str folded alone
 *   copies(texts, step)                    io.copies._write's bytes and places
 *   newlines(text)                         the places of a str's newlines (layout.cut)
 *   code_points(texts)                     fingerprint.code_points: str widened to uint32
 *   slices(text, starts, ends)             layout._pieces: the spans of a str, as str
 *   spaces_and_digits(texts, enough, head) layout.space_counts, and which hold a digit
 *   text_token_hashes(texts)               tokens.texts_hashes: every word's xxh32 of str
 *   sentences(text, paragraphs)            segment.sentences of every paragraph of a text
 *   paragraphs(text)                       segment.paragraphs of a text without a marker
 *   has_marker(text)                       segment._has_marker
 *   sections(text, paragraphs, most)       segment.sections of a text's paragraphs
 *   segment_batch(texts, levels, most)     segment.batch_spans: every level of a batch at once
 *   deletion_keys(atoms, bounds, owners, keys)   edit_keys.deletion_keys
 *   segment_keys(data, texts, owners, keys)      edit_keys.segment_keys
 *   number_marks(texts, nfkc)              facts.number_marks of each text
 *   number_words(text)                     facts._NUMBER.findall: the words holding a digit
 *   separated(text)                        titles._separated of a text
 *   value_span(line, field)                records._value_span of a JSONL line
 */
#include "common.h"

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dedup._native",
    "The innermost loops of fingerprinting and verification, in C (see dedup.native).", -1,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *created = PyModule_Create(&module);
    if (created == NULL) return NULL;
    if (PyModule_AddFunctions(created, dedup_shingle_methods) < 0 ||
        PyModule_AddFunctions(created, dedup_text_methods) < 0 ||
        PyModule_AddFunctions(created, dedup_edit_key_methods) < 0 ||
        PyModule_AddFunctions(created, dedup_paragraph_methods) < 0 ||
        PyModule_AddFunctions(created, dedup_line_methods) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
