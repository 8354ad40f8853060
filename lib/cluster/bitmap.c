// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dirty bitmap: one bit per granularity-sized chunk, stored as 64-bit words
 * in pages of 64 words, with two summary trees so that searches skip long
 * uniform stretches:
 *   - the dirty tree has, at its first level, one bit per word that is not
 *     all clean; each higher level has one bit per non-zero word below;
 *   - the clean tree is the same for words that are not all dirty.
 * A search climbs a tree only as far as it has to, so finding the next dirty
 * bit in an empty 16M-bit map touches a handful of words.
 * A page that is all clean or all dirty is one of two shared read-only pages
 * until a bit of it changes alone, so that clearing, filling, copying and
 * merging whole maps, and setting or resetting long ranges, cost per page
 * (4096 bits), not per word: a map over a large disk costs what its edits
 * cost. A last page with fewer words, or with a partial last word, is
 * always the map's own.
 */
#include "cluster_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64
#define MAX_LEVELS 12          /* 64^11 words is far beyond any nbits we allow */
#define NOT_FOUND UINT64_MAX
#define PAGE_WORDS 64          /* words per page: one level-0 summary word */
#define PAGE_BITS (PAGE_WORDS * WORD_BITS)

/* the shared pages: [0] all clean, [1] all dirty; never written */
static uint64_t shared_pages[2][PAGE_WORDS] = { { 0 }, { [0 ... PAGE_WORDS - 1] = ~(uint64_t)0 } };
#define CLEAN_PAGE shared_pages[0]
#define DIRTY_PAGE shared_pages[1]

static inline bool page_shared(const uint64_t *pg)
{
    return (uintptr_t)pg - (uintptr_t)shared_pages < sizeof(shared_pages);
}

typedef struct summary_tree {
    int nlevels;                   /* levels above the bit words, >= 1 */
    uint64_t *level[MAX_LEVELS];   /* level[0] summarizes the bit words */
    uint64_t nbits[MAX_LEVELS];    /* bits in each level */
} summary_tree;

struct cl_bitmap {
    uint64_t size;
    uint64_t granularity;
    unsigned gran_shift;
    uint64_t nbits;
    uint64_t nwords;
    uint64_t count;            /* dirty bits, kept up to date on every edit */
    uint64_t **pages;          /* word w is pages[w / PAGE_WORDS][w % PAGE_WORDS] */
    uint64_t npages;
    uint64_t last_word_mask;   /* valid bits of the last word */
    summary_tree dirty;
    summary_tree clean;
    size_t memory;
    bool enabled;
    bool busy;
    cl_bitmap *successor;
    cl_bitmap *parent;         /* set while this bitmap is someone's successor */
};

int cl_fail(cl_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;

        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Bits set in a word. Without the popcnt instruction the builtin is a call
 * into libgcc; this is a handful of instructions inline. */
static inline uint64_t pop64(uint64_t x)
{
#ifdef __POPCNT__
    return (uint64_t)__builtin_popcountll(x);
#else
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (x * 0x0101010101010101ull) >> 56;
#endif
}

static uint64_t words_for(uint64_t bits)
{
    return (bits + WORD_BITS - 1) / WORD_BITS;
}

static inline uint64_t word_at(const cl_bitmap *bm, uint64_t w)
{
    return bm->pages[w / PAGE_WORDS][w % PAGE_WORDS];
}

/* Words in page p (PAGE_WORDS but for the last page). */
static uint64_t page_nwords(const cl_bitmap *bm, uint64_t p)
{
    uint64_t first = p * PAGE_WORDS;
    return bm->nwords - first < PAGE_WORDS ? bm->nwords - first : PAGE_WORDS;
}

/* Page p as the map's own, to be written: a shared page is copied. Out of
 * line: edits meet it once per page. Allocation failure aborts, as a failed
 * page fault would: edits have no way to fail. */
static __attribute__((noinline)) uint64_t *page_own(cl_bitmap *bm, uint64_t p)
{
    uint64_t *pg = bm->pages[p];

    if (!page_shared(pg)) {
        return pg;
    }
    uint64_t *own = malloc(PAGE_WORDS * sizeof(uint64_t));
    if (!own) {
        abort();
    }
    memcpy(own, pg, PAGE_WORDS * sizeof(uint64_t));
    bm->pages[p] = own;
    bm->memory += PAGE_WORDS * sizeof(uint64_t);
    return own;
}

/* May page p be shared: 64 words of 64 bits each? */
static bool page_full(const cl_bitmap *bm, uint64_t p)
{
    return p + 1 < bm->npages ||
           (bm->nwords == bm->npages * PAGE_WORDS && bm->last_word_mask == ~(uint64_t)0);
}

/* Page p becomes the shared page pg (page_full). */
static void page_share(cl_bitmap *bm, uint64_t p, uint64_t *pg)
{
    if (!page_shared(bm->pages[p])) {
        free(bm->pages[p]);
        bm->memory -= PAGE_WORDS * sizeof(uint64_t);
    }
    bm->pages[p] = pg;
}

static inline uint64_t *word_own(cl_bitmap *bm, uint64_t w)
{
    uint64_t *pg = bm->pages[w / PAGE_WORDS];

    if (__builtin_expect(page_shared(pg), 0)) {
        pg = page_own(bm, w / PAGE_WORDS);
    }
    return &pg[w % PAGE_WORDS];
}

static uint64_t valid_mask(const cl_bitmap *bm, uint64_t word_idx)
{
    return word_idx == bm->nwords - 1 ? bm->last_word_mask : ~(uint64_t)0;
}

/* Does the bit word at word_idx have a bit of interest for this tree? */
static bool word_matches(const cl_bitmap *bm, bool clean, uint64_t word_idx, uint64_t w)
{
    return clean ? (~w & valid_mask(bm, word_idx)) != 0 : w != 0;
}

static int tree_alloc(summary_tree *t, uint64_t nwords, size_t *memory)
{
    uint64_t bits = nwords;

    memset(t, 0, sizeof(*t));
    for (;;) {
        uint64_t n = words_for(bits);

        if (t->nlevels == MAX_LEVELS) {
            return -EINVAL;
        }
        t->level[t->nlevels] = calloc(n ? n : 1, sizeof(uint64_t));
        if (!t->level[t->nlevels]) {
            return -ENOMEM;
        }
        *memory += (n ? n : 1) * sizeof(uint64_t);
        t->nbits[t->nlevels] = bits;
        t->nlevels++;
        if (n <= 1) {
            return 0;
        }
        bits = n;
    }
}

static void tree_free(summary_tree *t)
{
    for (int i = 0; i < t->nlevels; i++) {
        free(t->level[i]);
    }
}

/* Set or clear bit idx of a level, propagating a change of the word's
 * zero-ness to the level above. */
static void tree_put(summary_tree *t, int lvl, uint64_t idx, bool val)
{
    while (lvl < t->nlevels) {
        uint64_t *word = &t->level[lvl][idx / WORD_BITS];
        uint64_t bit = (uint64_t)1 << (idx % WORD_BITS);
        bool was_nonzero = *word != 0;

        if (val) {
            *word |= bit;
        } else {
            *word &= ~bit;
        }
        if (was_nonzero == (*word != 0)) {
            return;
        }
        val = *word != 0;
        idx /= WORD_BITS;
        lvl++;
    }
}

/* Set or clear bits a..b (inclusive) of a level, then fix the levels above:
 * after setting, every touched word is non-zero; after clearing, the words
 * strictly inside are zero and only the two end words need a look. */
static void tree_put_range(summary_tree *t, int lvl, uint64_t a, uint64_t b, bool val)
{
    uint64_t wa = a / WORD_BITS, wb = b / WORD_BITS;
    uint64_t *words = t->level[lvl];

    for (uint64_t w = wa; w <= wb; w++) {
        uint64_t mask = ~(uint64_t)0;

        if (w == wa) {
            mask &= ~(uint64_t)0 << (a % WORD_BITS);
        }
        if (w == wb) {
            mask &= ~(uint64_t)0 >> (WORD_BITS - 1 - b % WORD_BITS);
        }
        words[w] = val ? words[w] | mask : words[w] & ~mask;
    }
    if (lvl + 1 >= t->nlevels) {
        return;
    }
    if (val) {
        tree_put_range(t, lvl + 1, wa, wb, true);
        return;
    }
    if (wa + 1 < wb) {
        tree_put_range(t, lvl + 1, wa + 1, wb - 1, false);
    }
    tree_put(t, lvl + 1, wa, words[wa] != 0);
    if (wb != wa) {
        tree_put(t, lvl + 1, wb, words[wb] != 0);
    }
}

/* Every level of a tree all of interest (ones) or none (the map all clean
 * or all dirty), the bits past each level's end left clear. */
static void tree_uniform(summary_tree *t, bool ones)
{
    for (int lvl = 0; lvl < t->nlevels; lvl++) {
        uint64_t n = t->nbits[lvl], nw = words_for(n ? n : 1);

        if (!ones) {
            memset(t->level[lvl], 0, nw * sizeof(uint64_t));
            continue;
        }
        for (uint64_t w = 0; w < nw; w++) {
            t->level[lvl][w] = ~(uint64_t)0;
        }
        if (n % WORD_BITS) {
            t->level[lvl][nw - 1] = ~(uint64_t)0 >> (WORD_BITS - n % WORD_BITS);
        }
        if (!n) {
            t->level[lvl][0] = 0;
        }
    }
}

/* Store level-0 word p of a tree, propagating a change of its zero-ness. */
static void tree_set_word0(summary_tree *t, uint64_t p, uint64_t word)
{
    bool was = t->level[0][p] != 0;

    t->level[0][p] = word;
    if (was != (word != 0) && t->nlevels > 1) {
        tree_put(t, 1, p, word != 0);
    }
}

/* Bits set in page p. */
static uint64_t page_count(const cl_bitmap *bm, uint64_t p)
{
    const uint64_t *pg = bm->pages[p];
    uint64_t n = 0;

    if (pg == CLEAN_PAGE) {
        return 0;
    }
    if (pg == DIRTY_PAGE) {
        return PAGE_BITS;
    }
    for (uint64_t i = 0; i < page_nwords(bm, p); i++) {
        n += pop64(pg[i]);
    }
    return n;
}

/* The whole map clean or dirty: every page shared but a last one that
 * cannot be, whose words and summaries are set here. */
static void set_all(cl_bitmap *bm, bool dirty)
{
    uint64_t last = bm->npages - 1;

    for (uint64_t p = 0; p < bm->npages; p++) {
        if (page_full(bm, p)) {
            page_share(bm, p, dirty ? DIRTY_PAGE : CLEAN_PAGE);
        }
    }
    bm->count = dirty ? bm->nbits : 0;
    tree_uniform(&bm->dirty, dirty);
    tree_uniform(&bm->clean, !dirty);
    if (!page_full(bm, last)) {
        uint64_t *lp = bm->pages[last], n = page_nwords(bm, last);

        for (uint64_t i = 0; i < n; i++) {
            lp[i] = dirty ? valid_mask(bm, last * PAGE_WORDS + i) : 0;
        }
        /* every word of it has a dirty bit, or a clean one, and no word
         * (the last one being partial) is all clean or all dirty */
        if (n) {
            uint64_t some = ~(uint64_t)0 >> (WORD_BITS - n);
            tree_set_word0(&bm->dirty, last, dirty ? some : 0);
            tree_set_word0(&bm->clean, last, dirty ? 0 : some);
        }
    }
}

/* Word w of "level" lvl, where lvl -1 means the bit words as seen by the
 * tree (inverted and masked for the clean tree). */
static uint64_t tree_word(const cl_bitmap *bm, const summary_tree *t, bool clean,
                          int lvl, uint64_t w)
{
    if (lvl < 0) {
        return clean ? ~word_at(bm, w) & valid_mask(bm, w) : word_at(bm, w);
    }
    return t->level[lvl][w];
}

static uint64_t level_nbits(const cl_bitmap *bm, const summary_tree *t, int lvl)
{
    return lvl < 0 ? bm->nbits : t->nbits[lvl];
}

/* First set bit >= idx at level lvl (-1 = bit words), or NOT_FOUND. */
static uint64_t tree_find(const cl_bitmap *bm, bool clean, int lvl, uint64_t idx)
{
    const summary_tree *t = clean ? &bm->clean : &bm->dirty;
    uint64_t nbits = level_nbits(bm, t, lvl);
    uint64_t w, word;

    if (idx >= nbits) {
        return NOT_FOUND;
    }
    w = idx / WORD_BITS;
    word = tree_word(bm, t, clean, lvl, w) & (~(uint64_t)0 << (idx % WORD_BITS));
    if (!word) {
        if (lvl + 1 >= t->nlevels) {
            /* top level: a single word, already looked at */
            return NOT_FOUND;
        }
        w = tree_find(bm, clean, lvl + 1, w + 1);
        if (w == NOT_FOUND) {
            return NOT_FOUND;
        }
        word = tree_word(bm, t, clean, lvl, w);
    }
    return w * WORD_BITS + (uint64_t)__builtin_ctzll(word);
}

/* Store a new value in a bit word, keeping count and both trees right. */
static void put_word(cl_bitmap *bm, uint64_t idx, uint64_t new_word)
{
    uint64_t old = word_at(bm, idx);

    if (old == new_word) {
        return;
    }
    *word_own(bm, idx) = new_word;
    bm->count += (uint64_t)pop64(new_word);
    bm->count -= (uint64_t)pop64(old);
    if (word_matches(bm, false, idx, old) != word_matches(bm, false, idx, new_word)) {
        tree_put(&bm->dirty, 0, idx, new_word != 0);
    }
    if (word_matches(bm, true, idx, old) != word_matches(bm, true, idx, new_word)) {
        tree_put(&bm->clean, 0, idx, word_matches(bm, true, idx, new_word));
    }
}

/* Mark bit word idx in every level of a tree, without looking at what was
 * there: a word with a bit of interest has its summary bit set all the way
 * up. Stores only, no loads to wait for before the next operation. */
static inline void tree_mark(summary_tree *t, uint64_t idx)
{
    for (int lvl = 0; lvl < t->nlevels; lvl++) {
        t->level[lvl][idx / WORD_BITS] |= (uint64_t)1 << (idx % WORD_BITS);
        idx /= WORD_BITS;
    }
}

/* Set (dirty) or clear bits of mask in bit word w. The summaries stay exact:
 * the tree that gains a member is marked unconditionally (branch-free); the
 * one that may lose one is touched only when the word became all clean (or
 * all dirty), which random single-bit edits rarely do. */
static inline void change_word(cl_bitmap *bm, uint64_t w, uint64_t mask, bool dirty)
{
    uint64_t *word = word_own(bm, w);
    uint64_t old = *word;

    if (dirty) {
        uint64_t new_word = old | mask;

        *word = new_word;
        bm->count += (uint64_t)pop64(new_word ^ old);
        tree_mark(&bm->dirty, w);
        if (__builtin_expect(new_word == valid_mask(bm, w), 0) && new_word != old) {
            tree_put(&bm->clean, 0, w, false);
        }
    } else {
        uint64_t new_word = old & ~mask;

        *word = new_word;
        bm->count -= (uint64_t)pop64(new_word ^ old);
        tree_mark(&bm->clean, w);
        if (__builtin_expect(new_word == 0, 0) && old != 0) {
            tree_put(&bm->dirty, 0, w, false);
        }
    }
}

/* After a single-bit edit changed level 0 of a summary tree around bit
 * word w: bring the levels above in line with the two level-0 words.
 * Out of line and rare (once per 64 bit words at most). */
static __attribute__((noinline)) int fix_upper_levels(cl_bitmap *bm, uint64_t w)
{
    uint64_t sw = w / WORD_BITS;

    tree_put(&bm->dirty, 1, sw, bm->dirty.level[0][sw] != 0);
    tree_put(&bm->clean, 1, sw, bm->clean.level[0][sw] != 0);
    return 0;
}

/* Set or clear one bit: the common case (a write of one cluster). It is
 * kept free of branches on the data it loads and of calls on its common
 * path, so that random edits keep many loads in flight as they do on a
 * plain bit array: the count changes by a comparison (a popcount is a
 * library call on baseline x86-64), level 0 of both trees by arithmetic,
 * and only when a level-0 summary word turns zero or non-zero do the
 * levels above change (fix_upper_levels). Returns 0. */
static __attribute__((noinline)) int set_bit_shared(cl_bitmap *bm, uint64_t bit);
static __attribute__((noinline)) int reset_bit_shared(cl_bitmap *bm, uint64_t bit);

static inline int set_bit(cl_bitmap *bm, uint64_t bit)
{
    uint64_t w = bit / WORD_BITS, sw = w / WORD_BITS;
    unsigned sb = (unsigned)(w % WORD_BITS);
    uint64_t *pg = bm->pages[sw];
    if (__builtin_expect(page_shared(pg), 0)) {
        return set_bit_shared(bm, bit);
    }
    uint64_t old = pg[sb], new_word = old | (uint64_t)1 << (bit % WORD_BITS);
    uint64_t vmask = w == bm->nwords - 1 ? bm->last_word_mask : ~(uint64_t)0;
    uint64_t d0 = bm->dirty.level[0][sw], c0 = bm->clean.level[0][sw];
    /* the word has a dirty bit now; it may have become all dirty */
    uint64_t c1 = c0 & ~((uint64_t)(new_word == vmask) << sb);

    pg[sb] = new_word;
    bm->count += new_word != old;
    bm->dirty.level[0][sw] = d0 | (uint64_t)1 << sb;
    bm->clean.level[0][sw] = c1;
    if (__builtin_expect(!d0 || (c0 && !c1), 0)) {
        return fix_upper_levels(bm, w);
    }
    return 0;
}

static inline int reset_bit(cl_bitmap *bm, uint64_t bit)
{
    uint64_t w = bit / WORD_BITS, sw = w / WORD_BITS;
    unsigned sb = (unsigned)(w % WORD_BITS);
    uint64_t *pg = bm->pages[sw];
    if (__builtin_expect(page_shared(pg), 0)) {
        return reset_bit_shared(bm, bit);
    }
    uint64_t old = pg[sb], new_word = old & ~((uint64_t)1 << (bit % WORD_BITS));
    uint64_t d0 = bm->dirty.level[0][sw], c0 = bm->clean.level[0][sw];
    /* the word has a clean bit now; it may have become all clean */
    uint64_t d1 = d0 & ~((uint64_t)(new_word == 0) << sb);

    pg[sb] = new_word;
    bm->count -= new_word != old;
    bm->dirty.level[0][sw] = d1;
    bm->clean.level[0][sw] = c0 | (uint64_t)1 << sb;
    if (__builtin_expect(!c0 || (d0 && !d1), 0)) {
        return fix_upper_levels(bm, w);
    }
    return 0;
}

/* The bit is in a shared page: nothing changes if it already has the
 * value, else the page becomes the map's own first. */
static int set_bit_shared(cl_bitmap *bm, uint64_t bit)
{
    if (bm->pages[bit / PAGE_BITS] == DIRTY_PAGE) {
        return 0;
    }
    page_own(bm, bit / PAGE_BITS);
    return set_bit(bm, bit);
}

static int reset_bit_shared(cl_bitmap *bm, uint64_t bit)
{
    if (bm->pages[bit / PAGE_BITS] == CLEAN_PAGE) {
        return 0;
    }
    page_own(bm, bit / PAGE_BITS);
    return reset_bit(bm, bit);
}

static inline int change_bit(cl_bitmap *bm, uint64_t bit, bool dirty)
{
    return dirty ? set_bit(bm, bit) : reset_bit(bm, bit);
}

/* Set (or clear) bits first..last inclusive. The two end words go through
 * put_word(); the whole words between them are written in one sweep and the
 * trees updated by range, which keeps big ranges (fill-like sets, resets of
 * long runs) fast. */
static void change_bits(cl_bitmap *bm, uint64_t first, uint64_t last, bool dirty)
{
    uint64_t fw = first / WORD_BITS, lw = last / WORD_BITS;
    uint64_t first_mask = ~(uint64_t)0 << (first % WORD_BITS);
    uint64_t last_mask = ~(uint64_t)0 >> (WORD_BITS - 1 - last % WORD_BITS);
    uint64_t fill = dirty ? ~(uint64_t)0 : 0, old_bits = 0;

    if (fw == lw) {
        change_word(bm, fw, first_mask & last_mask, dirty);
        return;
    }
    change_word(bm, fw, first_mask, dirty);
    change_word(bm, lw, last_mask, dirty);
    if (fw + 1 == lw) {
        return;
    }
    /* Interior words are never the (possibly partial) last word. Whole
     * pages between them become shared; the words of partly covered
     * pages are written. */
    for (uint64_t w = fw + 1; w < lw;) {
        uint64_t p = w / PAGE_WORDS, stop = (p + 1) * PAGE_WORDS;

        if (!(w % PAGE_WORDS) && stop <= lw && page_full(bm, p)) {
            bm->count += (dirty ? PAGE_BITS : 0) - page_count(bm, p);
            page_share(bm, p, dirty ? DIRTY_PAGE : CLEAN_PAGE);
            tree_set_word0(&bm->dirty, p, dirty ? ~(uint64_t)0 : 0);
            tree_set_word0(&bm->clean, p, dirty ? 0 : ~(uint64_t)0);
            w = stop;
            continue;
        }
        if (stop > lw) {
            stop = lw;
        }
        if (bm->pages[p] != (dirty ? DIRTY_PAGE : CLEAN_PAGE)) {
            /* a shared page here is the other one: its bits are known */
            bool known = page_shared(bm->pages[p]);
            uint64_t *pg = page_own(bm, p);

            old_bits = known && !dirty ? (stop - w) * WORD_BITS : 0;
            for (uint64_t i = w; i < stop; i++) {
                if (!known) {
                    old_bits += (uint64_t)pop64(pg[i % PAGE_WORDS]);
                }
                pg[i % PAGE_WORDS] = fill;
            }
            bm->count -= old_bits;
            if (dirty) {
                bm->count += (stop - w) * WORD_BITS;
            }
            tree_put_range(&bm->dirty, 0, w, stop - 1, dirty);
            tree_put_range(&bm->clean, 0, w, stop - 1, !dirty);
        }
        w = stop;
    }
}

cl_bitmap *cl_bitmap_new(uint64_t size, uint64_t granularity, cl_error *err)
{
    cl_bitmap *bm;

    if (!cl_is_pow2(granularity) || granularity < 512 || granularity > CL_MAX_SIZE) {
        cl_fail(err, -EINVAL, "bitmap granularity %llu is not a power of two between 512 and 2^62",
                (unsigned long long)granularity);
        return NULL;
    }
    if (size > CL_MAX_SIZE) {
        cl_fail(err, -EINVAL, "bitmap size %llu is larger than 2^62 bytes",
                (unsigned long long)size);
        return NULL;
    }
    bm = calloc(1, sizeof(*bm));
    if (!bm) {
        cl_fail(err, -ENOMEM, "out of memory allocating a bitmap");
        return NULL;
    }
    bm->size = size;
    bm->granularity = granularity;
    bm->gran_shift = (unsigned)__builtin_ctzll(granularity);
    bm->nbits = (size + granularity - 1) >> bm->gran_shift;
    bm->nwords = words_for(bm->nbits);
    bm->last_word_mask = bm->nbits % WORD_BITS
                         ? ~(uint64_t)0 >> (WORD_BITS - bm->nbits % WORD_BITS)
                         : ~(uint64_t)0;
    bm->enabled = true;
    bm->memory = sizeof(*bm);
    /* Always at least one page, so that an empty bitmap needs no special
     * cases; the pages start shared and clean, but a last one that cannot
     * be shared (page_full), which is the map's own. */
    bm->npages = (bm->nwords + PAGE_WORDS - 1) / PAGE_WORDS;
    if (!bm->npages) {
        bm->npages = 1;
    }
    bm->pages = malloc(bm->npages * sizeof(*bm->pages));
    uint64_t *last = page_full(bm, bm->npages - 1) ? CLEAN_PAGE
                                                   : calloc(PAGE_WORDS, sizeof(uint64_t));
    if (!bm->pages || !last) {
        free(bm->pages);
        if (last && !page_shared(last)) {
            free(last);
        }
        free(bm);
        cl_fail(err, -ENOMEM, "out of memory allocating a bitmap");
        return NULL;
    }
    for (uint64_t p = 0; p + 1 < bm->npages; p++) {
        bm->pages[p] = CLEAN_PAGE;
    }
    bm->pages[bm->npages - 1] = last;
    bm->memory += bm->npages * sizeof(*bm->pages);
    if (!page_shared(last)) {
        bm->memory += PAGE_WORDS * sizeof(uint64_t);
    }
    if (tree_alloc(&bm->dirty, bm->nwords, &bm->memory) < 0 ||
        tree_alloc(&bm->clean, bm->nwords, &bm->memory) < 0) {
        cl_bitmap_free(bm);
        cl_fail(err, -ENOMEM, "out of memory allocating a bitmap");
        return NULL;
    }
    set_all(bm, false);
    return bm;
}

void cl_bitmap_free(cl_bitmap *bm)
{
    if (!bm) {
        return;
    }
    /* Never leave a dangling link between a parent and its successor. */
    if (bm->parent && bm->parent->successor == bm) {
        bm->parent->successor = NULL;
    }
    if (bm->successor && bm->successor->parent == bm) {
        bm->successor->parent = NULL;
    }
    tree_free(&bm->dirty);
    tree_free(&bm->clean);
    for (uint64_t p = 0; p < bm->npages; p++) {
        if (!page_shared(bm->pages[p])) {
            free(bm->pages[p]);
        }
    }
    free(bm->pages);
    free(bm);
}

uint64_t cl_bitmap_size(const cl_bitmap *bm)
{
    return bm->size;
}

uint64_t cl_bitmap_granularity(const cl_bitmap *bm)
{
    return bm->granularity;
}

uint64_t cl_bitmap_nbits(const cl_bitmap *bm)
{
    return bm->nbits;
}

uint64_t cl_bitmap_count(const cl_bitmap *bm)
{
    return bm->count;
}

uint64_t cl_bitmap_count_bytes(const cl_bitmap *bm)
{
    return bm->count << bm->gran_shift;
}

size_t cl_bitmap_memory(const cl_bitmap *bm)
{
    return bm->memory;
}

bool cl_bitmap_get(const cl_bitmap *bm, uint64_t offset)
{
    uint64_t bit;

    if (offset >= bm->size) {
        return false;
    }
    bit = offset >> bm->gran_shift;
    return (word_at(bm, bit / WORD_BITS) >> (bit % WORD_BITS)) & 1;
}

static int check_range(const cl_bitmap *bm, uint64_t offset, uint64_t len, uint64_t limit,
                       const char *what, cl_error *err)
{
    if (offset > limit || len > limit - offset) {
        return cl_fail(err, -EINVAL,
                       "%s range [%llu, +%llu) goes past the end of the %llu-byte bitmap",
                       what, (unsigned long long)offset, (unsigned long long)len,
                       (unsigned long long)bm->size);
    }
    return 0;
}

/* cl_bitmap_set/reset beyond their one-granule fast paths. Out of line, so
 * that the fast paths stay leaf code that saves no registers. */
static __attribute__((noinline)) int set_range(cl_bitmap *bm, uint64_t offset, uint64_t len,
                                               cl_error *err)
{
    int ret = check_range(bm, offset, len, bm->size, "set", err);

    uint64_t first = offset >> bm->gran_shift, last = (offset + len - 1) >> bm->gran_shift;

    if (ret < 0 || len == 0) {
        return ret;
    }
    if (first == last) {
        return change_bit(bm, first, true);
    }
    change_bits(bm, first, last, true);
    return 0;
}

int cl_bitmap_set(cl_bitmap *bm, uint64_t offset, uint64_t len, cl_error *err)
{
    /* within one granule inside the bitmap: the common case, checked first */
    if (len && offset < bm->size && len <= bm->size - offset &&
        offset >> bm->gran_shift == (offset + len - 1) >> bm->gran_shift) {
        return change_bit(bm, offset >> bm->gran_shift, true);
    }
    return set_range(bm, offset, len, err);
}

static __attribute__((noinline)) int reset_range(cl_bitmap *bm, uint64_t offset, uint64_t len,
                                                 cl_error *err)
{
    uint64_t rounded_size = bm->nbits << bm->gran_shift;
    uint64_t mask = bm->granularity - 1;
    int ret = check_range(bm, offset, len, rounded_size, "reset", err);

    if (ret < 0) {
        return ret;
    }
    if ((offset & mask) || ((len & mask) && offset + len != bm->size)) {
        return cl_fail(err, -EINVAL,
                       "reset range [%llu, +%llu) is not aligned to the granularity %llu",
                       (unsigned long long)offset, (unsigned long long)len,
                       (unsigned long long)bm->granularity);
    }
    if (len == 0) {
        return 0;
    }
    uint64_t first = offset >> bm->gran_shift, last = (offset + len - 1) >> bm->gran_shift;

    if (first == last) {
        return change_bit(bm, first, false);
    }
    change_bits(bm, first, last, false);
    return 0;
}

int cl_bitmap_reset(cl_bitmap *bm, uint64_t offset, uint64_t len, cl_error *err)
{
    /* one whole granule inside the bitmap: the common case, checked first */
    if (len == bm->granularity && !(offset & (len - 1)) && offset < bm->size) {
        return change_bit(bm, offset >> bm->gran_shift, false);
    }
    return reset_range(bm, offset, len, err);
}

void cl_bitmap_clear(cl_bitmap *bm)
{
    set_all(bm, false);
}

void cl_bitmap_fill(cl_bitmap *bm)
{
    set_all(bm, true);
}

static int64_t next_match(const cl_bitmap *bm, bool clean, uint64_t offset, uint64_t end)
{
    uint64_t bit, pos;

    if (end == 0 || end > bm->size) {
        end = bm->size;
    }
    if (offset >= end) {
        return -1;
    }
    bit = offset >> bm->gran_shift;
    if (((end - 1) >> bm->gran_shift) / WORD_BITS - bit / WORD_BITS < 3) {
        /* a short range (a copy task's next clean cluster): its few words
         * directly, without climbing the tree */
        uint64_t last_w = ((end - 1) >> bm->gran_shift) / WORD_BITS;
        for (uint64_t w = bit / WORD_BITS; w <= last_w; w++) {
            uint64_t word = tree_word(bm, NULL, clean, -1, w);
            if (w == bit / WORD_BITS) {
                word &= ~(uint64_t)0 << (bit % WORD_BITS);
            }
            if (word) {
                pos = (w * WORD_BITS + (uint64_t)__builtin_ctzll(word)) << bm->gran_shift;
                return pos < end ? (int64_t)cl_max(pos, offset) : -1;
            }
        }
        return -1;
    }
    bit = tree_find(bm, clean, -1, bit);
    if (bit == NOT_FOUND) {
        return -1;
    }
    pos = bit << bm->gran_shift;
    if (pos >= end) {
        return -1;
    }
    return (int64_t)cl_max(pos, offset);
}

int64_t cl_bitmap_next_dirty(const cl_bitmap *bm, uint64_t offset, uint64_t end)
{
    return next_match(bm, false, offset, end);
}

int64_t cl_bitmap_next_clean(const cl_bitmap *bm, uint64_t offset, uint64_t end)
{
    return next_match(bm, true, offset, end);
}

bool cl_bitmap_next_dirty_area(const cl_bitmap *bm, uint64_t start, uint64_t end,
                               uint64_t max_len, uint64_t *area_off, uint64_t *area_len)
{
    int64_t first, next_clean;
    uint64_t stop;

    if (end == 0 || end > bm->size) {
        end = bm->size;
    }
    first = cl_bitmap_next_dirty(bm, start, end);
    if (first < 0) {
        return false;
    }
    stop = end;
    if (max_len && max_len < end - (uint64_t)first) {
        stop = (uint64_t)first + max_len;
    }
    next_clean = cl_bitmap_next_clean(bm, (uint64_t)first, stop);
    if (next_clean >= 0) {
        stop = (uint64_t)next_clean;
    }
    *area_off = (uint64_t)first;
    *area_len = stop - (uint64_t)first;
    return true;
}

int cl_bitmap_merge(cl_bitmap *dst, const cl_bitmap *src, cl_error *err)
{
    uint64_t off = 0, len;

    if (!dst || !src) {
        return cl_fail(err, -EINVAL, "merge needs both a destination and a source bitmap");
    }
    if (dst->size != src->size) {
        return cl_fail(err, -EINVAL, "cannot merge a %llu-byte bitmap into a %llu-byte one",
                       (unsigned long long)src->size, (unsigned long long)dst->size);
    }
    if (dst->granularity == src->granularity) {
        /* a page at a time: all dirty in src makes it all dirty in dst,
         * otherwise src's dirty words (its summary says which) */
        for (uint64_t p = 0; p < src->npages; p++) {
            const uint64_t *sp = src->pages[p];
            uint64_t which = src->dirty.level[0][p];

            if (sp == DIRTY_PAGE && dst->pages[p] != DIRTY_PAGE) {
                dst->count += PAGE_BITS - page_count(dst, p);
                page_share(dst, p, DIRTY_PAGE);
                tree_set_word0(&dst->dirty, p, ~(uint64_t)0);
                tree_set_word0(&dst->clean, p, 0);
                continue;
            }
            if (sp == DIRTY_PAGE) {
                continue;
            }
            while (which) {
                uint64_t w = p * PAGE_WORDS + (uint64_t)__builtin_ctzll(which);

                which &= which - 1;
                put_word(dst, w, word_at(dst, w) | sp[w % PAGE_WORDS]);
            }
        }
        return 0;
    }
    while (off < src->size && cl_bitmap_next_dirty_area(src, off, 0, 0, &off, &len)) {
        change_bits(dst, off >> dst->gran_shift, (off + len - 1) >> dst->gran_shift, true);
        off += len;
    }
    return 0;
}

int cl_bitmap_copy(cl_bitmap *dst, const cl_bitmap *src, cl_error *err)
{
    if (!dst || !src) {
        return cl_fail(err, -EINVAL, "copy needs both a destination and a source bitmap");
    }
    if (dst->size != src->size || dst->granularity != src->granularity) {
        return cl_fail(err, -EINVAL,
                       "cannot copy a bitmap of %llu bytes at granularity %llu into one of "
                       "%llu bytes at granularity %llu",
                       (unsigned long long)src->size, (unsigned long long)src->granularity,
                       (unsigned long long)dst->size, (unsigned long long)dst->granularity);
    }
    if (dst == src) {
        return 0;
    }
    for (uint64_t p = 0; p < dst->npages; p++) {
        if (page_shared(src->pages[p])) {
            page_share(dst, p, src->pages[p]);
        } else {
            memcpy(page_own(dst, p), src->pages[p], PAGE_WORDS * sizeof(uint64_t));
        }
    }
    dst->count = src->count;
    /* Same size and granularity, so both trees have the same shape. */
    for (int lvl = 0; lvl < dst->dirty.nlevels; lvl++) {
        size_t bytes = words_for(dst->dirty.nbits[lvl] ? dst->dirty.nbits[lvl] : 1) *
                       sizeof(uint64_t);
        memcpy(dst->dirty.level[lvl], src->dirty.level[lvl], bytes);
        memcpy(dst->clean.level[lvl], src->clean.level[lvl], bytes);
    }
    return 0;
}

bool cl_bitmap_enabled(const cl_bitmap *bm)
{
    return bm->enabled;
}

int cl_bitmap_set_enabled(cl_bitmap *bm, bool enabled, cl_error *err)
{
    if (bm->busy) {
        return cl_fail(err, -EBUSY, "cannot %s a bitmap that is in use by a job",
                       enabled ? "enable" : "disable");
    }
    bm->enabled = enabled;
    return 0;
}

bool cl_bitmap_recording(const cl_bitmap *bm)
{
    return bm->enabled || (bm->successor && bm->successor->enabled);
}

bool cl_bitmap_busy(const cl_bitmap *bm)
{
    return bm->busy;
}

cl_bitmap *cl_bitmap_successor(const cl_bitmap *bm)
{
    return bm->successor;
}

void cl_bitmap_record_write(cl_bitmap *bm, uint64_t offset, uint64_t len)
{
    if (!bm->enabled || bm->busy || len == 0 || offset >= bm->size) {
        return;
    }
    len = cl_min(len, bm->size - offset);
    change_bits(bm, offset >> bm->gran_shift, (offset + len - 1) >> bm->gran_shift, true);
}

cl_bitmap *cl_bitmap_freeze(cl_bitmap *parent, cl_error *err)
{
    cl_bitmap *succ;

    if (!parent) {
        cl_fail(err, -EINVAL, "freeze needs a bitmap");
        return NULL;
    }
    if (parent->busy) {
        cl_fail(err, -EBUSY, "the bitmap is already frozen by another job");
        return NULL;
    }
    if (parent->parent) {
        cl_fail(err, -EBUSY, "cannot freeze a bitmap that is still a successor");
        return NULL;
    }
    succ = cl_bitmap_new(parent->size, parent->granularity, err);
    if (!succ) {
        return NULL;
    }
    succ->enabled = parent->enabled;
    succ->parent = parent;
    parent->enabled = false;
    parent->busy = true;
    parent->successor = succ;
    return succ;
}

cl_bitmap *cl_bitmap_reclaim(cl_bitmap *parent)
{
    cl_bitmap *succ;

    if (!parent || !parent->busy || !parent->successor) {
        return NULL;
    }
    succ = parent->successor;
    cl_bitmap_merge(parent, succ, NULL);   /* same size: cannot fail */
    parent->enabled = succ->enabled;
    parent->busy = false;
    parent->successor = NULL;
    succ->parent = NULL;
    return parent;
}

cl_bitmap *cl_bitmap_abdicate(cl_bitmap *parent)
{
    cl_bitmap *succ;

    if (!parent || !parent->busy || !parent->successor) {
        return NULL;
    }
    succ = parent->successor;
    parent->busy = false;
    parent->successor = NULL;
    succ->parent = NULL;
    return succ;
}
