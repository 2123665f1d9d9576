/* queries._fastmatch: the caption scanner behind queries.matcher.QueryMatcher.
 *
 * Same semantics as the pure-Python scanner in matcher.py (tests check they agree):
 * a token is a maximal run of characters for which str.isalnum() is true; a query (given as its
 * match key: folded tokens joined by single spaces) matches when its tokens occur as consecutive
 * tokens of the caption. Only the first `max_chars` characters are scanned; a token cut by that
 * limit is dropped, so a cut never creates a match.
 *
 * How: every query key and every proper prefix of a multi-token key is stored in one
 * open-addressing table under a 64-bit rolling hash of its token sequence. The scan hashes each
 * caption token once and extends n-grams only while the table says the n-gram is a prefix of some
 * query, so a caption costs about one table probe per token. A slot holds a 64-bit and an
 * independent 31-bit hash of its n-gram and both must agree: a false match needs a 95-bit
 * collision (odds below 1e-17 per probe), and reading the key's characters to verify each hit
 * would cost a cache miss per match, which measured as most of the scan time.
 *
 * ASCII captions are lower-cased on the fly (ASCII casefold == ASCII lower); other captions are
 * folded (NFKC + casefold) by the Python callable given at construction, so both scanners fold
 * exactly the same way.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define STACK_TOKENS 256
#define STACK_IDS 128

typedef struct {
    uint64_t hash;   /* 0 marks an empty slot (hashes are forced non-zero) */
    uint32_t check;  /* an independent 32-bit hash of the same n-gram */
    int32_t id;      /* the query's id, or -1 when the n-gram is only a prefix */
} Slot;
/* The prefix flag lives in the low bit of `check`; the check hash keeps only its upper 31 bits. */
#define PREFIX_BIT 1u

typedef struct {
    PyObject_HEAD
    Slot *slots;
    uint64_t mask;
    PyObject *fold;    /* callable(str) -> str for non-ASCII captions */
    Py_ssize_t max_chars;
    int max_tokens;    /* tokens in the longest query */
    PyObject *weakreflist;
} Scanner;

static inline uint64_t mix64(uint64_t x) {
    /* splitmix64 finaliser: spreads the bits so the table's low bits are uniform */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t extend_hash(uint64_t ngram, uint64_t token) {
    uint64_t h = mix64(ngram * 0x9E3779B97F4A7C15ULL + token);
    return h ? h : 1;
}

static inline uint32_t extend_check(uint32_t ngram, uint32_t token) {
    /* murmur3-style 32-bit mixing; independent of the 64-bit hash above */
    uint32_t h = (ngram ^ token) * 0xcc9e2d51u;
    h = (h << 15) | (h >> 17);
    h *= 0x1b873593u;
    h ^= h >> 16;
    return h;
}

static inline Py_UCS4 lower_ascii(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static Slot *find_slot(Scanner *s, uint64_t hash) {
    uint64_t i = hash & s->mask;
    while (s->slots[i].hash && s->slots[i].hash != hash) i = (i + 1) & s->mask;
    return &s->slots[i];
}

static Slot *lookup(const Scanner *s, uint64_t hash) {
    uint64_t i = hash & s->mask;
    for (;;) {
        const Slot *slot = &s->slots[i];
        if (slot->hash == hash) return (Slot *)slot;
        if (!slot->hash) return NULL;
        i = (i + 1) & s->mask;
    }
}

/* Token spans of text[0:len]; returns the count, writing starts/ends/hashes. */
typedef struct {
    Py_ssize_t start, end;
    uint64_t hash, unigram, bigram;  /* the token's own hash; the 1- and 2-gram hashes starting here */
    uint32_t check, unigram_check, bigram_check;
} Token;

/* isalnum() for ASCII without a function call; other code points ask the Unicode database. */
static unsigned char ascii_alnum[128];

static inline int is_alnum(Py_UCS4 c) {
    return c < 128 ? ascii_alnum[c] : Py_UNICODE_ISALNUM(c);
}

static Py_ssize_t tokenize(int kind, const void *data, Py_ssize_t len, int ascii_lower, Token *out) {
    Py_ssize_t n = 0, i = 0;
    while (i < len) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_alnum(c)) { i++; continue; }
        uint64_t h = 0xcbf29ce484222325ULL;  /* FNV-1a over code points */
        uint32_t check = 0x811c9dc5u;         /* 32-bit FNV-1a with another prime */
        Py_ssize_t start = i;
        while (i < len) {
            c = PyUnicode_READ(kind, data, i);
            if (!is_alnum(c)) break;
            if (ascii_lower) c = lower_ascii(c);
            h = (h ^ c) * 0x100000001b3ULL;
            check = (check ^ c) * 0x01000193u;
            i++;
        }
        out[n].start = start; out[n].end = i; out[n].hash = h; out[n].check = check;
        n++;
    }
    return n;
}

/* Insertion sort: a caption matches a handful of queries, where qsort's overhead dominates. */
static void sort_ids(int32_t *ids, Py_ssize_t n) {
    for (Py_ssize_t i = 1; i < n; i++) {
        int32_t v = ids[i];
        Py_ssize_t j = i;
        while (j > 0 && ids[j - 1] > v) { ids[j] = ids[j - 1]; j--; }
        ids[j] = v;
    }
}

static PyObject *Scanner_match(Scanner *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "match() needs str, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(arg);
    PyObject *text = arg, *owned = NULL;
    Py_INCREF(text);
    int dropped_cut_token = 0;
    if (len > self->max_chars) {
        /* A token that runs across the limit is dropped: half a word must never match. */
        dropped_cut_token = is_alnum(PyUnicode_READ_CHAR(text, self->max_chars));
        Py_SETREF(text, PyUnicode_Substring(arg, 0, self->max_chars));
        if (!text) return NULL;
        len = self->max_chars;
    }
    int ascii_lower = PyUnicode_IS_ASCII(text);
    if (!ascii_lower) {
        owned = PyObject_CallOneArg(self->fold, text);
        Py_DECREF(text);
        if (!owned) return NULL;
        if (!PyUnicode_Check(owned)) {
            Py_DECREF(owned);
            PyErr_SetString(PyExc_TypeError, "fold() must return str");
            return NULL;
        }
        text = owned;  /* owns the reference now */
        len = PyUnicode_GET_LENGTH(text);
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);

    Token stack_tokens[STACK_TOKENS], *toks = stack_tokens;
    Py_ssize_t cap_tokens = len / 2 + 1;
    if (cap_tokens > STACK_TOKENS) {
        toks = PyMem_Malloc(sizeof(Token) * cap_tokens);
        if (!toks) { Py_DECREF(text); return PyErr_NoMemory(); }
    }
    Py_ssize_t ntok = tokenize(kind, data, len, ascii_lower, toks);
    if (dropped_cut_token && ntok > 0 && toks[ntok - 1].end == len) ntok--;

    int32_t stack_ids[STACK_IDS], *ids = stack_ids;
    Py_ssize_t nids = 0, cap_ids = STACK_IDS;
    PyObject *result = NULL;
    /* The table is far larger than the CPU cache, so each probe is a likely cache miss. Hashing
     * every unigram and bigram first and prefetching their slots lets those misses overlap
     * instead of queueing one after another (clearly faster on a 500,000-query table). */
    for (Py_ssize_t i = 0; i < ntok; i++) {
        toks[i].unigram = extend_hash(0, toks[i].hash);
        toks[i].unigram_check = extend_check(0, toks[i].check);
        __builtin_prefetch(&self->slots[toks[i].unigram & self->mask]);
        if (i + 1 < ntok && self->max_tokens > 1) {
            toks[i].bigram = extend_hash(toks[i].unigram, toks[i + 1].hash);
            toks[i].bigram_check = extend_check(toks[i].unigram_check, toks[i + 1].check);
            __builtin_prefetch(&self->slots[toks[i].bigram & self->mask]);
        }
    }
    for (Py_ssize_t i = 0; i < ntok; i++) {
        uint64_t h = 0;
        uint32_t check = 0;
        Py_ssize_t stop = i + self->max_tokens;
        if (stop > ntok) stop = ntok;
        for (Py_ssize_t j = i; j < stop; j++) {
            if (j == i) {
                h = toks[i].unigram;
                check = toks[i].unigram_check;
            } else if (j == i + 1) {
                h = toks[i].bigram;
                check = toks[i].bigram_check;
            } else {
                h = extend_hash(h, toks[j].hash);
                check = extend_check(check, toks[j].check);
            }
            const Slot *slot = lookup(self, h);
            if (!slot || (slot->check | PREFIX_BIT) != (check | PREFIX_BIT)) break;
            if (slot->id >= 0) {
                if (nids == cap_ids) {
                    int32_t *grown = PyMem_Malloc(sizeof(int32_t) * cap_ids * 2);
                    if (!grown) { PyErr_NoMemory(); goto done; }
                    memcpy(grown, ids, sizeof(int32_t) * nids);
                    if (ids != stack_ids) PyMem_Free(ids);
                    ids = grown;
                    cap_ids *= 2;
                }
                ids[nids++] = slot->id;
            }
            if (!(slot->check & PREFIX_BIT)) break;
        }
    }
    sort_ids(ids, nids);
    Py_ssize_t unique = 0;
    for (Py_ssize_t i = 0; i < nids; i++)
        if (i == 0 || ids[i] != ids[i - 1]) ids[unique++] = ids[i];
    result = PyList_New(unique);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < unique; i++) {
        PyObject *v = PyLong_FromLong(ids[i]);
        if (!v) { Py_CLEAR(result); goto done; }
        PyList_SET_ITEM(result, i, v);
    }
done:
    if (toks != stack_tokens) PyMem_Free(toks);
    if (ids != stack_ids) PyMem_Free(ids);
    Py_DECREF(text);
    return result;
}

/* Scanner(keys: list[str], fold: callable, max_chars: int). Keys must be match keys. */
static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"keys", "fold", "max_chars", NULL};
    PyObject *keys, *fold;
    Py_ssize_t max_chars;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!On", kwlist, &PyList_Type, &keys, &fold, &max_chars))
        return -1;
    if (max_chars < 1) { PyErr_SetString(PyExc_ValueError, "max_chars must be >= 1"); return -1; }
    Py_ssize_t nkeys = PyList_GET_SIZE(keys);
    if (nkeys > INT32_MAX) { PyErr_SetString(PyExc_ValueError, "too many keys"); return -1; }
    /* Count table entries: each key plus its proper prefixes (at most tokens-1 per key). */
    Py_ssize_t entries = 0;
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        if (!PyUnicode_Check(key)) { PyErr_SetString(PyExc_TypeError, "keys must be str"); return -1; }
        int kkind = PyUnicode_KIND(key);
        const void *kdata = PyUnicode_DATA(key);
        entries += 1;
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(key); k++)
            entries += PyUnicode_READ(kkind, kdata, k) == ' ';
    }
    uint64_t size = 1024;
    /* entries over-counts shared prefixes, so the real load factor stays well under 0.7 */
    while (size < (uint64_t)entries + (uint64_t)entries / 2) size <<= 1;
    Slot *slots = PyMem_Calloc(size, sizeof(Slot));
    if (!slots) { PyErr_NoMemory(); return -1; }
    PyMem_Free(self->slots);
    self->slots = slots;
    self->mask = size - 1;
    self->max_chars = max_chars;
    self->max_tokens = 1;
    Py_INCREF(fold); Py_XSETREF(self->fold, fold);

    Token stack_tokens[STACK_TOKENS];
    for (Py_ssize_t id = 0; id < nkeys; id++) {
        PyObject *key = PyList_GET_ITEM(keys, id);
        Py_ssize_t klen = PyUnicode_GET_LENGTH(key);
        Token *toks = stack_tokens;
        if (klen / 2 + 1 > STACK_TOKENS) {
            toks = PyMem_Malloc(sizeof(Token) * (klen / 2 + 1));
            if (!toks) { PyErr_NoMemory(); return -1; }
        }
        Py_ssize_t ntok = tokenize(PyUnicode_KIND(key), PyUnicode_DATA(key), klen, 0, toks);
        if (ntok == 0) {
            if (toks != stack_tokens) PyMem_Free(toks);
            PyErr_Format(PyExc_ValueError, "query %zd has no tokens: %R", id, key);
            return -1;
        }
        if (ntok > self->max_tokens) self->max_tokens = (int)ntok;
        uint64_t h = 0;
        uint32_t check = 0;
        for (Py_ssize_t j = 0; j < ntok; j++) {
            h = extend_hash(h, toks[j].hash);
            check = extend_check(check, toks[j].check);
            Slot *slot = find_slot(self, h);
            if (!slot->hash) {
                slot->hash = h;
                slot->check = check & ~PREFIX_BIT;
                slot->id = -1;
            } else if ((slot->check | PREFIX_BIT) != (check | PREFIX_BIT)) {
                /* Two different n-grams with one 64-bit hash: never seen, but refuse, not guess. */
                if (toks != stack_tokens) PyMem_Free(toks);
                PyErr_Format(PyExc_ValueError, "hash collision building the table at query %R", key);
                return -1;
            }
            if (j == ntok - 1) {
                if (slot->id >= 0) {
                    if (toks != stack_tokens) PyMem_Free(toks);
                    PyErr_Format(PyExc_ValueError, "duplicate query key %R (id %zd)", key, id);
                    return -1;
                }
                slot->id = (int32_t)id;
            } else {
                slot->check |= PREFIX_BIT;
            }
        }
        if (toks != stack_tokens) PyMem_Free(toks);
    }
    return 0;
}

static int Scanner_traverse(Scanner *self, visitproc visit, void *arg) {
    Py_VISIT(self->fold);
    return 0;
}

static int Scanner_clear(Scanner *self) {
    Py_CLEAR(self->fold);
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    PyObject_GC_UnTrack(self);
    if (self->weakreflist) PyObject_ClearWeakRefs((PyObject *)self);
    Scanner_clear(self);
    PyMem_Free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Scanner_table_bytes(Scanner *self, void *closure) {
    return PyLong_FromUnsignedLongLong((self->mask + 1) * sizeof(Slot));
}

static PyMethodDef Scanner_methods[] = {
    {"match", (PyCFunction)Scanner_match, METH_O, "match(text) -> sorted unique ids of the keys found in text"},
    {NULL}
};

static PyGetSetDef Scanner_getset[] = {
    {"table_bytes", (getter)Scanner_table_bytes, NULL, "bytes used by the hash table", NULL},
    {NULL}
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "queries._fastmatch.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Scanner(keys, fold, max_chars): token n-gram lookup of match keys in captions",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
    .tp_weaklistoffset = offsetof(Scanner, weakreflist),
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastmatch", "C scanner for queries.matcher", -1, NULL};

PyMODINIT_FUNC PyInit__fastmatch(void) {
    for (int c = 0; c < 128; c++) ascii_alnum[c] = Py_UNICODE_ISALNUM((Py_UCS4)c) ? 1 : 0;
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
