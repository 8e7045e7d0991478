/* match_internal.h: what the matcher's source files share: the per-thread
 * bounded Dijkstra (reusable heap, visited stamps, predecessor edges). */
#ifndef DL_MATCH_INTERNAL_H
#define DL_MATCH_INTERNAL_H

#include <math.h>

#include "dl_match.h"

typedef struct dl_mgraph {
  const dl_net *net;
  double *dist;      /* [n_nodes] metres from the source, valid where stamp == cur */
  uint32_t *stamp;   /* [n_nodes] run number that last reached the node */
  uint32_t *pred;    /* [n_nodes] edge by which the node was reached (DL_NET_NONE at the source) */
  uint32_t *first;   /* [n_nodes] edge leaving the source on the tree path (DL_NET_NONE at the source) */
  float *turn;       /* [n_nodes] radians turned along the tree path after its first edge */
  uint32_t cur;      /* current run number */
  uint32_t src;      /* source of the current run, DL_NET_NONE before the first */
  double lim;        /* bound of the current run */
  uint32_t *hnode;   /* lazy binary heap of (key, node) */
  double *hkey;
  size_t hn, hcap;
  uint64_t runs, reused, settled; /* statistics */
} dl_mgraph;

int dl_mgraph_init(dl_mgraph *g, const dl_net *n);
void dl_mgraph_free(dl_mgraph *g);
/* Settles every node within lim metres of src (directed edges). A repeated
 * call with the same source and a bound no larger reuses the last run. */
void dl_mgraph_run(dl_mgraph *g, uint32_t src, double lim);
/* Deflection in radians (0..pi) from the end of edge e1 into the start of edge e2. */
double dl_mgraph_deflect(const dl_net *n, uint32_t e1, uint32_t e2);
/* Radians turned from edge ea (ending at the last run's source) along the
 * tree path to node v (reached) and into edge eb (leaving v). */
double dl_mgraph_turns(const dl_mgraph *g, uint32_t ea, uint32_t v, uint32_t eb);
/* Distance from the last run's source to node v, INFINITY when not reached. */
static inline double dl_mgraph_dist(const dl_mgraph *g, uint32_t v) {
  return g->stamp[v] == g->cur ? g->dist[v] : INFINITY;
}

#endif
