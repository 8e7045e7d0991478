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
  float *turn;       /* [n_nodes] turn cost (radians, see dl_mgraph_choice) along the tree path after its first edge */
  double tk;         /* log-likelihood per radian turned: turns are costed as a choice among a junction's
                        exits (dl_mgraph_choice); 0 (dl_mgraph_init's): plain deflections */
  float *exits;      /* [n_edges] dl_mgraph_exits of each edge with tk, NAN until first needed */
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
/* Turn cost, in radians, of leaving junction to(ein) by edge e as a choice
 * among its exits (the U-turn excluded): with the exits weighted
 * exp(-tk * deflection), -log P(e) / tk, that is e's deflection plus
 * log(sum of the weights) / tk. Going straight past side roads costs about
 * nothing, leaving a straight road for a side road costs its deflection,
 * and a road whose only exit is a turn (a side road ending in a sharp
 * link into the main road) costs nothing for it. tk = 0: the deflection. */
double dl_mgraph_choice(const dl_net *n, double tk, uint32_t ein, uint32_t e);
/* The log(sum of the weights) / tk part of dl_mgraph_choice (0 when tk is 0). */
double dl_mgraph_exits(const dl_net *n, double tk, uint32_t ein);
/* Sets tk (log-likelihood per radian; 0 after dl_mgraph_init). */
void dl_mgraph_set_turn(dl_mgraph *g, double tk);
/* Turn cost (radians, dl_mgraph_choice with the graph's tk) from edge ea
 * (ending at the last run's source) along the tree path to node v
 * (reached) and into edge eb (leaving v). */
double dl_mgraph_turns(const dl_mgraph *g, uint32_t ea, uint32_t v, uint32_t eb);
/* Distance from the last run's source to node v, INFINITY when not reached. */
static inline double dl_mgraph_dist(const dl_mgraph *g, uint32_t v) {
  return g->stamp[v] == g->cur ? g->dist[v] : INFINITY;
}

#endif
