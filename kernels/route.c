/* route.c: Dijkstra on the directed CSR graph with a stamped, reusable
 * workspace and a lazy binary heap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_route.h"

typedef struct heap_item {
  double cost;
  uint32_t node;
} heap_item;

struct dl_route {
  uint32_t n_nodes;
  uint32_t stamp;    /* current query; lab/done entries equal to it are valid */
  uint32_t *lab;     /* [n] stamp when cost/pred hold this query's label */
  uint32_t *done;    /* [n] stamp when settled */
  double *cost;      /* [n] */
  uint32_t *pred;    /* [n] edge reaching the node, or a seed's via edge */
  uint8_t *seeded;   /* [n] 1 when the label came from a seed */
  heap_item *heap;
  size_t nheap, capheap;
  uint32_t *path;    /* [n] reconstruction buffer */
};

dl_route *dl_route_create(uint32_t n_nodes, uint32_t n_edges, dl_err *e) {
  dl_route *w = calloc(1, sizeof *w);
  size_t n = n_nodes ? n_nodes : 1;
  if (w) {
    w->n_nodes = n_nodes;
    w->capheap = (size_t)n_edges + n + 1;
    w->lab = calloc(n, sizeof *w->lab);
    w->done = calloc(n, sizeof *w->done);
    w->cost = malloc(n * sizeof *w->cost);
    w->pred = malloc(n * sizeof *w->pred);
    w->seeded = malloc(n);
    w->heap = malloc(w->capheap * sizeof *w->heap);
    w->path = malloc(n * sizeof *w->path);
  }
  if (!w || !w->lab || !w->done || !w->cost || !w->pred || !w->seeded || !w->heap || !w->path) {
    dl_route_free(w);
    dl_errf(e, DL_ENOMEM, "route workspace for %u nodes: out of memory", n_nodes);
    return NULL;
  }
  return w;
}

void dl_route_free(dl_route *w) {
  if (!w) return;
  free(w->lab), free(w->done), free(w->cost), free(w->pred), free(w->seeded);
  free(w->heap), free(w->path);
  free(w);
}

void dl_route_begin(dl_route *w) {
  w->nheap = 0;
  if (++w->stamp == 0) { /* wrapped: old stamps could alias, clear once */
    memset(w->lab, 0, w->n_nodes * sizeof *w->lab);
    memset(w->done, 0, w->n_nodes * sizeof *w->done);
    w->stamp = 1;
  }
}

/* Ties by node id so that the settle order, and with it every path, is a
 * function of the graph alone. */
static inline int before(const heap_item *a, const heap_item *b) {
  return a->cost < b->cost || (a->cost == b->cost && a->node < b->node);
}

static void heap_push(dl_route *w, double cost, uint32_t node) {
  heap_item *h = w->heap;
  size_t i = w->nheap++;
  heap_item it = {cost, node};
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&it, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = it;
}

static heap_item heap_pop(dl_route *w) {
  heap_item *h = w->heap;
  heap_item top = h[0], last = h[--w->nheap];
  size_t n = w->nheap, i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(&h[c + 1], &h[c])) c++;
    if (!before(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  if (n) h[i] = last;
  return top;
}

/* Drops stale heap entries (superseded labels): at most one live entry per
 * node remains, so the heap fits again. */
static void heap_compact(dl_route *w) {
  size_t k = 0;
  for (size_t i = 0; i < w->nheap; i++) {
    heap_item it = w->heap[i];
    if (w->done[it.node] != w->stamp && w->cost[it.node] == it.cost) w->heap[k++] = it;
  }
  size_t n = k;
  w->nheap = 0;
  for (size_t i = 0; i < n; i++) heap_push(w, w->heap[i].cost, w->heap[i].node);
}

void dl_route_seed(dl_route *w, uint32_t node, double cost0, uint32_t via) {
  if (node >= w->n_nodes || !(cost0 >= 0)) return;
  if (w->lab[node] == w->stamp && w->cost[node] <= cost0) return;
  if (w->done[node] == w->stamp) return;
  w->lab[node] = w->stamp;
  w->cost[node] = cost0;
  w->pred[node] = via;
  w->seeded[node] = 1;
  if (w->nheap == w->capheap) heap_compact(w);
  heap_push(w, cost0, node);
}

size_t dl_route_run(dl_route *w, const dl_net *n, const double *mult, double max_cost,
                    uint32_t target) {
  const uint32_t st = w->stamp;
  size_t settled = 0;
  while (w->nheap) {
    heap_item it = heap_pop(w);
    uint32_t u = it.node;
    if (w->done[u] == st || it.cost != w->cost[u]) continue; /* stale */
    if (it.cost > max_cost) break;
    w->done[u] = st;
    settled++;
    if (u == target) break;
    for (uint32_t e = n->node_edge[u]; e < n->node_edge[u + 1]; e++) {
      uint32_t v = n->edge_to[e];
      if (w->done[v] == st) continue;
      double c = it.cost + n->edge_len[e] * (mult ? mult[e] : 1.0);
      if (w->lab[v] != st || c < w->cost[v]) {
        w->lab[v] = st;
        w->cost[v] = c;
        w->pred[v] = e;
        w->seeded[v] = 0;
        heap_push(w, c, v); /* each edge relaxes once per query: fits */
      }
    }
  }
  return settled;
}

double dl_route_cost(const dl_route *w, uint32_t node) {
  return node < w->n_nodes && w->done[node] == w->stamp ? w->cost[node] : INFINITY;
}

uint32_t dl_route_pred(const dl_route *w, uint32_t node) {
  return node < w->n_nodes && w->done[node] == w->stamp ? w->pred[node] : DL_NET_NONE;
}

const uint32_t *dl_route_path(dl_route *w, const dl_net *n, uint32_t node, size_t *count) {
  *count = 0;
  if (node >= w->n_nodes || w->done[node] != w->stamp) return NULL;
  size_t k = w->n_nodes; /* filled backwards from the end of the buffer */
  uint32_t v = node;
  while (!w->seeded[v]) {
    if (k == 0) return NULL; /* cannot happen with a settled tree; never loop */
    uint32_t e = w->pred[v];
    w->path[--k] = e;
    v = n->edge_from[e];
  }
  *count = w->n_nodes - k;
  return w->path + k;
}

int dl_route_shortest(dl_route *w, const dl_net *n, uint32_t src, uint32_t dst,
                      const double *mult, const uint32_t **edges, size_t *count,
                      double *cost) {
  *edges = NULL;
  *count = 0;
  *cost = INFINITY;
  if (src >= w->n_nodes || dst >= w->n_nodes) return DL_ENODATA;
  dl_route_begin(w);
  dl_route_seed(w, src, 0.0, DL_NET_NONE);
  dl_route_run(w, n, mult, INFINITY, dst);
  *cost = dl_route_cost(w, dst);
  if (!isfinite(*cost)) return DL_ENODATA;
  *edges = dl_route_path(w, n, dst, count);
  return *edges ? DL_OK : DL_EINTERNAL;
}
