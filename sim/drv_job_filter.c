/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The implicit filter nodes block jobs insert (QEMU 7.2: block/commit.c's
 * commit_top above the committed top, block/mirror.c's mirror_top above a
 * mirror's or an active commit's source, block/stream.c's copy-on-read
 * above the streamed node). They exist from the job's start to its
 * finalization (prepare/abort/clean) and carry an automatic node name, so
 * query-named-block-nodes lists them (newest first) and a node whose
 * backing child they filter shows them in its backing chain; query-block
 * skips them (implicit). The simulator keeps them as a view: its requests
 * go to the filtered node directly, the filter passes everything through.
 */
#include "sim/node.h"

static uint64_t jf_size(sim_node *n)
{
    return node_size(n->file);
}

static uint64_t jf_cluster_size(sim_node *n)
{
    return node_cluster_size(n->file);
}

static int jf_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    return node_read_data(s, n->file, off, len, out);
}

static int jf_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    return node_write_data(s, n->file, off, len, in);
}

static int jf_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    return node_discard(s, n->file, off, len);
}

static int jf_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    return node_block_status(s, n->file, off, len, pnum);
}

/* No open: blockdev-add cannot make them (commit_top and mirror_top are
 * not in QEMU's BlockdevDriver; a user's copy-on-read is not modelled). */
#define JOB_FILTER_OPS(NAME) { .name = NAME, .size = jf_size, .cluster_size = jf_cluster_size, \
    .read = jf_read, .write = jf_write, .discard = jf_discard, .block_status = jf_block_status }

const sim_drv_ops drv_commit_top = JOB_FILTER_OPS("commit_top");
const sim_drv_ops drv_mirror_top = JOB_FILTER_OPS("mirror_top");
const sim_drv_ops drv_cor_filter = JOB_FILTER_OPS("copy-on-read");

bool node_is_job_filter(const sim_node *n)
{
    return n->drv == DRV_COMMIT_TOP || n->drv == DRV_MIRROR_TOP || n->drv == DRV_COR_FILTER;
}

sim_node *job_filter_insert(sim *s, sim_driver drv, sim_node *child)
{
    sim_node *f = node_new(s, drv, NULL);   /* "#block..." from the shared counter */
    f->file = child;
    f->read_only = drv == DRV_COMMIT_TOP;   /* commit_top takes no write permission */
    return f;
}

void job_filter_drop(sim *s, sim_node **pf)
{
    if (*pf) {
        node_remove(s, *pf);
        *pf = NULL;
    }
}

/* What a parent of child sees: the job filter on it, if there is one. */
sim_node *node_filtered_view(sim *s, sim_node *child)
{
    for (sim_node *n = s->nodes; child && n; n = n->next) {
        if (node_is_job_filter(n) && n->file == child) {
            return n;
        }
    }
    return child;
}
