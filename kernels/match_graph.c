/* match_graph.c: bounded one-to-many Dijkstra on the directed road graph
 * for the matcher, with per-thread buffers allocated once. */
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

int dl_mgraph_init(dl_mgraph *g, const dl_net *n) {
  memset(g, 0, sizeof *g);
  g->net = n;
  size_t nn = n->n_nodes ? n->n_nodes : 1;
  g->dist = malloc(nn * sizeof *g->dist);
  g->stamp = calloc(nn, sizeof *g->stamp);
  g->pred = malloc(nn * sizeof *g->pred);
  g->first = malloc(nn * sizeof *g->first);
  g->turn = malloc(nn * sizeof *g->turn);
  /* lazy heap: at most one push per relaxed edge plus the source */
  g->hcap = (size_t)n->n_edges + 2;
  g->hnode = malloc(g->hcap * sizeof *g->hnode);
  g->hkey = malloc(g->hcap * sizeof *g->hkey);
  g->src = DL_NET_NONE;
  g->tk = 0;
  g->exits = malloc((n->n_edges ? n->n_edges : 1) * sizeof *g->exits);
  if (!g->dist || !g->stamp || !g->pred || !g->first || !g->turn || !g->hnode || !g->hkey || !g->exits) {
    dl_mgraph_free(g);
    return DL_ENOMEM;
  }
  return DL_OK;
}

void dl_mgraph_free(dl_mgraph *g) {
  if (!g) return;
  free(g->dist), free(g->stamp), free(g->pred), free(g->first), free(g->turn), free(g->hnode), free(g->hkey);
  free(g->exits);
  memset(g, 0, sizeof *g);
}

static void hpush(dl_mgraph *g, double k, uint32_t v) {
  size_t i = g->hn++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (g->hkey[p] <= k) break;
    g->hkey[i] = g->hkey[p], g->hnode[i] = g->hnode[p];
    i = p;
  }
  g->hkey[i] = k, g->hnode[i] = v;
}

static void hpop(dl_mgraph *g, double *k, uint32_t *v) {
  *k = g->hkey[0], *v = g->hnode[0];
  size_t n = --g->hn;
  if (!n) return;
  double lk = g->hkey[n];
  uint32_t lv = g->hnode[n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && g->hkey[c + 1] < g->hkey[c]) c++;
    if (g->hkey[c] >= lk) break;
    g->hkey[i] = g->hkey[c], g->hnode[i] = g->hnode[c];
    i = c;
  }
  g->hkey[i] = lk, g->hnode[i] = lv;
}

/* Heading in degrees of edge e at its start (end = 0) or its end (end = 1),
 * in its travel direction. */
static double edge_head(const dl_net *n, uint32_t e, int end) {
  uint32_t s = n->edge_seg[e], v0 = n->seg_vtx[s], v1 = n->seg_vtx[s + 1] - 2;
  if (!n->edge_dir[e]) return n->vtx_head[end ? v1 : v0];
  return n->vtx_head[end ? v0 : v1] + 180.0;
}

double dl_mgraph_deflect(const dl_net *n, uint32_t e1, uint32_t e2) {
  double d = fmod(fabs(edge_head(n, e2, 0) - edge_head(n, e1, 1)), 360.0);
  if (d > 180.0) d = 360.0 - d;
  return d * (M_PI / 180.0);
}

double dl_mgraph_exits(const dl_net *n, double tk, uint32_t ein) {
  if (!(tk > 0)) return 0;
  uint32_t u = n->edge_to[ein];
  double z = 0;
  for (uint32_t f = n->node_edge[u]; f < n->node_edge[u + 1]; f++)
    if (n->edge_seg[f] != n->edge_seg[ein]) z += exp(-tk * dl_mgraph_deflect(n, ein, f));
  return z > 0 ? log(z) / tk : 0;
}

double dl_mgraph_choice(const dl_net *n, double tk, uint32_t ein, uint32_t e) {
  return dl_mgraph_deflect(n, ein, e) + dl_mgraph_exits(n, tk, ein);
}

/* dl_mgraph_exits of ein with the graph's tk, computed once per edge */
static double exits(const dl_mgraph *g, uint32_t ein) {
  if (!(g->tk > 0)) return 0;
  float v = g->exits[ein];
  if (v != v) g->exits[ein] = v = (float)dl_mgraph_exits(g->net, g->tk, ein); /* NAN: not yet */
  return v;
}

void dl_mgraph_set_turn(dl_mgraph *g, double tk) {
  if (tk == g->tk) return;
  g->tk = tk;
  for (uint32_t e = 0; e < g->net->n_edges; e++) g->exits[e] = NAN;
}

double dl_mgraph_turns(const dl_mgraph *g, uint32_t ea, uint32_t v, uint32_t eb) {
  const dl_net *n = g->net;
  if (v == g->src) return dl_mgraph_deflect(n, ea, eb) + exits(g, ea);
  return dl_mgraph_deflect(n, ea, g->first[v]) + exits(g, ea) + g->turn[v] + dl_mgraph_deflect(n, g->pred[v], eb) +
         exits(g, g->pred[v]);
}

void dl_mgraph_run(dl_mgraph *g, uint32_t src, double lim) {
  if (src == g->src && lim <= g->lim) {
    g->reused++;
    return;
  }
  const dl_net *n = g->net;
  if (++g->cur == 0) { /* stamps wrapped: clear once every 2^32 runs */
    memset(g->stamp, 0, (n->n_nodes ? n->n_nodes : 1) * sizeof *g->stamp);
    g->cur = 1;
  }
  g->runs++;
  g->src = src, g->lim = lim;
  g->hn = 0;
  g->dist[src] = 0, g->stamp[src] = g->cur, g->pred[src] = DL_NET_NONE, g->first[src] = DL_NET_NONE;
  g->turn[src] = 0;
  hpush(g, 0, src);
  while (g->hn) {
    double k;
    uint32_t u;
    hpop(g, &k, &u);
    if (k > g->dist[u]) continue; /* stale entry */
    g->settled++;
    uint32_t pe = g->pred[u];
    double lse = pe == DL_NET_NONE ? 0 : exits(g, pe);
    for (uint32_t e = n->node_edge[u]; e < n->node_edge[u + 1]; e++) {
      uint32_t v = n->edge_to[e];
      double d = k + n->edge_len[e];
      if (d > lim) continue;
      if (g->stamp[v] == g->cur && g->dist[v] <= d) continue;
      g->stamp[v] = g->cur, g->dist[v] = d, g->pred[v] = e;
      /* u is settled: its tree path (and turn sum) is final */
      g->first[v] = pe == DL_NET_NONE ? e : g->first[u];
      g->turn[v] = pe == DL_NET_NONE ? 0.0f : g->turn[u] + (float)(dl_mgraph_deflect(n, pe, e) + lse);
      if (g->hn < g->hcap) hpush(g, d, v);
    }
  }
}
