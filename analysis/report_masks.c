// report_masks.c: figures from skip masks and tile maps (report_figures.h):
// the skip-mask heatmaps over the attention map, several steps side by side,
// and the per-layer / per-head sparsity distributions of each policy.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_figures.h"
#include "skip_mask.h"
#include "tile_maps.h"

// Heatmaps larger than this are shown in blocks (max of max_log2, mean of the
// skip bits), so the data files and images stay small.
#define MAX_CELLS_Y 300
#define MAX_CELLS_X 600

static int has_triple(const int *t, int n, int policy, int step, int layer) {
    for (int i = 0; i < n; i++)
        if (t[3 * i] == policy && t[3 * i + 1] == step && t[3 * i + 2] == layer) return 1;
    return 0;
}

static int has_pair(const int *p, int n, int step, int layer) {
    for (int i = 0; i < n; i++)
        if (p[2 * i] == step && p[2 * i + 1] == layer) return 1;
    return 0;
}

// The summary the heatmaps show: the one named, else the first non-dense
// policy with masks.
static int pick_policy(const fig_ctx *c, int **masks, int *n_masks) {
    for (int p = 0; p < c->n_policies; p++) {
        const ll_policy_summary *ps = &c->policies[p];
        const ll_report_trace *t = &c->in->traces[ps->trace];
        if (!t->reader || n_masks[ps->trace] == 0) continue;
        int named = c->opt->heatmap_policy != NULL;
        if (named && strcmp(c->opt->heatmap_policy, ps->label) &&
            strcmp(c->opt->heatmap_policy, t->policies[ps->policy].name))
            continue;
        if (!named && ps->is_dense) continue;
        for (int i = 0; i < n_masks[ps->trace]; i++)
            if (masks[ps->trace][3 * i] == ps->policy) return p;
    }
    return -1;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

// Writes one panel's data: "x y max_log2 skipped_fraction", one scan line per block row.
static ll_status write_panel(const fig_ctx *c, const char *name, const ll_skip_mask *m, const ll_tile_map *map, int b,
                             int h, double *min_log2, ll_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", c->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot write", path);
    int Q = m->q_tiles, K = m->k_tiles;
    int fy = (Q + MAX_CELLS_Y - 1) / MAX_CELLS_Y, fx = (K + MAX_CELLS_X - 1) / MAX_CELLS_X;
    for (int y0 = 0; y0 < Q; y0 += fy) {
        for (int x0 = 0; x0 < K; x0 += fx) {
            double best = -INFINITY, skipped = 0;
            int cells = 0;
            for (int y = y0; y < y0 + fy && y < Q; y++)
                for (int x = x0; x < x0 + fx && x < K; x++) {
                    skipped += ll_skip_mask_get(m, b, h, y, x);
                    cells++;
                    if (map) {
                        float v = map->max_log2[ll_tile_map_index(map, b, h, y, x)];
                        if (v > best) best = v;
                    }
                }
            if (isfinite(best) && best < *min_log2) *min_log2 = best;
            int ye = y0 + fy < Q ? y0 + fy : Q, xe = x0 + fx < K ? x0 + fx : K;
            fprintf(f, "%.6g %.6g %.6g %.4f\n", (x0 + xe - 1) / 2.0, (y0 + ye - 1) / 2.0,
                    isfinite(best) ? best : -1000.0, skipped / cells);
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ll_fail(err, LL_ERR_IO, "%s: write failed", path);
    return LL_OK;
}

ll_status ll_fig_heatmaps(fig_ctx *c, ll_error *err) {
    const ll_report_input *in = c->in;
    int **masks = calloc((size_t)in->n_traces, sizeof(int *)), *n_masks = calloc((size_t)in->n_traces, sizeof(int));
    int **maps = calloc((size_t)in->n_traces, sizeof(int *)), *n_maps = calloc((size_t)in->n_traces, sizeof(int));
    int *steps = NULL;
    ll_skip_mask mask = {0};
    ll_tile_map map = {0};
    ll_status st = LL_OK;
    if (!masks || !n_masks || !maps || !n_maps) {
        st = ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    for (int i = 0; i < in->n_traces; i++) {
        if (!in->traces[i].reader) continue;
        if ((st = ll_trace_list_masks(in->traces[i].reader, &masks[i], &n_masks[i], err)) != LL_OK) goto done;
        if ((st = ll_trace_list_maps(in->traces[i].reader, &maps[i], &n_maps[i], err)) != LL_OK) goto done;
    }
    int p = pick_policy(c, masks, n_masks);
    if (p < 0) {
        if (c->opt->heatmap_policy)
            st = ll_fail(err, LL_ERR_USAGE, "report: --heatmap-policy %s: no such policy with recorded skip masks",
                         c->opt->heatmap_policy);
        else
            ll_fig_note(c, "%s: skipped: no policy has recorded skip masks (record.masks in the experiment)",
                        "mask_heatmap");
        goto done;
    }
    const ll_policy_summary *ps = &c->policies[p];
    const ll_report_trace *t = &in->traces[ps->trace];
    const int *tm = masks[ps->trace];
    int ntm = n_masks[ps->trace];
    int layer = c->opt->heatmap_layer;
    if (layer < 0)
        for (int i = 0; i < ntm && layer < 0; i++)
            if (tm[3 * i] == ps->policy) layer = tm[3 * i + 2];
    int head = c->opt->heatmap_head;
    if (head < 0 || head >= t->meta.shape.H) {
        st = ll_fail(err, LL_ERR_USAGE, "report: --heatmap-head %d outside 0..%d of %s", head, t->meta.shape.H - 1,
                     t->path);
        goto done;
    }
    // Steps with a mask of (policy, layer).
    steps = malloc(sizeof(int) * (size_t)(ntm ? ntm : 1));
    int n_steps = 0;
    for (int i = 0; i < ntm; i++)
        if (tm[3 * i] == ps->policy && tm[3 * i + 2] == layer) steps[n_steps++] = tm[3 * i + 1];
    if (!n_steps) {
        st = ll_fail(err, LL_ERR_USAGE, "report: %s has no skip mask recorded for layer %d", ps->label, layer);
        goto done;
    }
    qsort(steps, (size_t)n_steps, sizeof(int), cmp_int);
    int chosen[8], n_chosen = 0;
    if (c->opt->n_heatmap_steps > 0) {
        for (int i = 0; i < c->opt->n_heatmap_steps; i++) {
            if (!has_triple(tm, ntm, ps->policy, c->opt->heatmap_steps[i], layer)) {
                st = ll_fail(err, LL_ERR_USAGE, "report: %s has no skip mask for step %d layer %d", ps->label,
                             c->opt->heatmap_steps[i], layer);
                goto done;
            }
            chosen[n_chosen++] = c->opt->heatmap_steps[i];
        }
    } else {
        int want = n_steps < 4 ? n_steps : 4;
        for (int i = 0; i < want; i++) chosen[n_chosen++] = steps[want > 1 ? (long)i * (n_steps - 1) / (want - 1) : 0];
    }
    const ll_trace_meta *meta = &t->meta;
    int Q = ll_q_tiles(&meta->shape, &meta->tiling), K = ll_k_tiles(&meta->shape, &meta->tiling);
    int all_maps = 1;
    for (int i = 0; i < n_chosen; i++)
        if (!has_pair(maps[ps->trace], n_maps[ps->trace], chosen[i], layer)) all_maps = 0;
    ll_gp_vars v;
    ll_gp_vars_init(&v);
    double min_log2 = 0;
    for (int i = 0; i < n_chosen; i++) {
        if ((st = ll_skip_mask_alloc(&mask, meta->shape.B, meta->shape.H, Q, K, err)) != LL_OK) goto done;
        if ((st = ll_trace_read_mask(t->reader, ps->policy, chosen[i], layer, &mask, err)) != LL_OK) goto done;
        if (all_maps) {
            if ((st = ll_tile_map_alloc(&map, meta->shape.B, meta->shape.H, Q, K, err)) != LL_OK) goto done;
            if ((st = ll_trace_read_map(t->reader, chosen[i], layer, &map, err)) != LL_OK) goto done;
        }
        char name[64], var[24], title[96];
        snprintf(name, sizeof name, "mask_heatmap_%d.dat", i);
        if ((st = write_panel(c, name, &mask, all_maps ? &map : NULL, 0, head, &min_log2, err)) != LL_OK) goto done;
        uint64_t skipped = 0;
        for (int y = 0; y < Q; y++)
            for (int x = 0; x < K; x++) skipped += (uint64_t)ll_skip_mask_get(&mask, 0, head, y, x);
        snprintf(var, sizeof var, "file%d", i);
        ll_gp_var_str(&v, var, name);
        snprintf(var, sizeof var, "title%d", i);
        snprintf(title, sizeof title, "step %d: %.1f%% of tiles skipped", chosen[i], 100.0 * skipped / ((double)Q * K));
        ll_gp_var_str(&v, var, title);
        ll_skip_mask_free(&mask);
        ll_tile_map_free(&map);
    }
    ll_gp_var_num(&v, "n_panels", n_chosen);
    ll_gp_var_num(&v, "has_map", all_maps);
    ll_gp_var_num(&v, "cb_min", floor(min_log2 > -30 ? min_log2 : -30));
    char key_label[96], query_label[96], plot_title[300];
    snprintf(key_label, sizeof key_label, "key tile (%d tokens each)", meta->tiling.block_n);
    snprintf(query_label, sizeof query_label, "query tile (%d tokens each)", meta->tiling.block_m);
    snprintf(plot_title, sizeof plot_title, "%s: skip mask of layer %d, head %d%s", ps->label, layer, head,
             all_maps ? " (light: skipped) over the dense attention map" : " (no tile map recorded)");
    ll_gp_var_str(&v, "key_label", key_label);
    ll_gp_var_str(&v, "query_label", query_label);
    ll_gp_var_str(&v, "plot_title", plot_title);
    st = ll_fig_draw(c, "mask_heatmap.gp", "mask_heatmap", &v,
                     all_maps ? "Skip mask (light tiles: skipped) over the dense attention map's max_log2, one panel "
                                "per step."
                              : "Skip mask (skipped fraction per tile), one panel per step; no tile map recorded.",
                     err);
done:
    ll_skip_mask_free(&mask);
    ll_tile_map_free(&map);
    free(steps);
    for (int i = 0; masks && maps && i < in->n_traces; i++) {
        free(masks[i]);
        free(maps[i]);
    }
    free(masks);
    free(maps);
    free(n_masks);
    free(n_maps);
    return st;
}

// ---------------------------------------------------------------------------
// Per-layer and per-head sparsity of each non-dense policy.
ll_status ll_fig_distributions(fig_ctx *c, ll_error *err) {
    int drawn = 0;
    for (int p = 0; p < c->n_policies; p++) {
        const ll_policy_summary *ps = &c->policies[p];
        const ll_report_trace *t = &c->in->traces[ps->trace];
        if (ps->is_dense || !ps->calls) continue;
        char safe[128], stem[160], by_layer[200], by_head[200], path[1300];
        ll_fig_safe_name(ps->label, safe, sizeof safe);
        snprintf(stem, sizeof stem, "sparsity_%s", safe);
        snprintf(by_layer, sizeof by_layer, "%s_layer.dat", stem);
        snprintf(by_head, sizeof by_head, "%s_head.dat", stem);
        snprintf(path, sizeof path, "%s/%s", c->out_dir, by_layer);
        FILE *fl = fopen(path, "w");
        snprintf(path, sizeof path, "%s/%s", c->out_dir, by_head);
        FILE *fh = fopen(path, "w");
        if (!fl || !fh) {
            if (fl) fclose(fl);
            if (fh) fclose(fh);
            return ll_fail(err, LL_ERR_IO, "%s: cannot write", path);
        }
        size_t heads = 0;
        for (size_t k = 0; k < t->n_calls; k++) {
            const ll_trace_call *call = &t->calls[k];
            if (call->policy != ps->policy || !call->flops_dense) continue;
            double skipped = 1.0 - (double)call->flops_executed / (double)call->flops_dense;
            if (ll_summary_uses_call(ps, call)) fprintf(fl, "%d %.6g\n", call->layer, skipped);
            if (call->head >= 0) {
                fprintf(fh, "%d %.6g\n", call->head, skipped);
                heads++;
            }
        }
        int bad = ferror(fl) || ferror(fh);
        if ((fclose(fl) | fclose(fh)) != 0 || bad) return ll_fail(err, LL_ERR_IO, "%s: write failed", path);
        ll_gp_vars v;
        ll_gp_vars_init(&v);
        ll_gp_var_str(&v, "by_layer", by_layer);
        ll_gp_var_str(&v, "by_head", heads ? by_head : "");
        ll_gp_var_num(&v, "n_heads", t->meta.shape.H);
        ll_gp_var_num(&v, "n_layers", t->meta.layers);
        char title[256], caption[320];
        snprintf(title, sizeof title, "%s: skipped FLOP fraction per layer%s", ps->label,
                 heads ? " and per head" : " (no per-head rows: record.per_head)");
        ll_gp_var_str(&v, "plot_title", title);
        snprintf(caption, sizeof caption, "Distribution of the skipped-FLOP fraction of %s over layers%s.", ps->label,
                 heads ? " and heads (every step)" : "");
        LL_TRY(ll_fig_draw(c, "sparsity_distribution.gp", stem, &v, caption, err));
        drawn++;
    }
    if (!drawn) ll_fig_note(c, "%s: skipped: no non-dense policy has calls", "sparsity distributions");
    return LL_OK;
}
