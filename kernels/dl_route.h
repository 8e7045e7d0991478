/* dl_route.h: shortest paths on the directed CSR road graph (dl_net):
 * Dijkstra with a reusable workspace (binary heap, cost and predecessor
 * arrays validated by a query stamp, so a query costs what it explores,
 * not O(nodes)), optional per-edge cost multipliers, several seeds, a cost
 * bound and an early stop at a target. One workspace per thread. */
#ifndef DL_ROUTE_H
#define DL_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"
#include "dl_network.h"

typedef struct dl_route dl_route;

/* Workspace for graphs of up to n_nodes nodes and n_edges edges. NULL on
 * failure (e filled). */
dl_route *dl_route_create(uint32_t n_nodes, uint32_t n_edges, dl_err *e);
void dl_route_free(dl_route *w);

/* Starts a new query: forgets every cost of the previous one (O(1)). */
void dl_route_begin(dl_route *w);
/* Adds a source: node reached at cost0 (>= 0) via edge via (DL_NET_NONE
 * for a plain start; the path then begins at node). A node seeded twice
 * keeps the cheaper seed. */
void dl_route_seed(dl_route *w, uint32_t node, double cost0, uint32_t via);
/* Runs Dijkstra from the seeds over n. Edge cost: edge_len[e] * mult[e]
 * (mult NULL: 1; every mult must be > 0). Stops when target (DL_NET_NONE:
 * none) is settled or when the cheapest open node costs more than
 * max_cost (INFINITY: no bound). Returns the number of settled nodes. */
size_t dl_route_run(dl_route *w, const dl_net *n, const double *mult, double max_cost,
                    uint32_t target);

/* Final cost of node in the last query, INFINITY when it was not settled. */
double dl_route_cost(const dl_route *w, uint32_t node);
/* The edge by which a settled node was reached (DL_NET_NONE for a seed
 * without via edge, or when not settled). */
uint32_t dl_route_pred(const dl_route *w, uint32_t node);
/* The edge sequence from the seeds to settled node, in travel order, in a
 * buffer owned by w (valid until the next call on w); *count edges (0 when
 * node is a seed). A seed's via edge is not included. NULL when node was
 * not settled. */
const uint32_t *dl_route_path(dl_route *w, const dl_net *n, uint32_t node, size_t *count);

/* One-to-one convenience: the cheapest path src -> dst. Returns DL_OK
 * with the edges (as dl_route_path) and *cost, or DL_ENODATA when dst is
 * unreachable. */
int dl_route_shortest(dl_route *w, const dl_net *n, uint32_t src, uint32_t dst,
                      const double *mult, const uint32_t **edges, size_t *count,
                      double *cost);

#endif
