/* dl_network.c: queries on the compiled road network view: structural
 * check, radius and k-nearest candidate search over the grid, lengths. */
#include "dl_network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hw_names[] = {
#define DL_X_NAME(name, s) s,
    DL_HW_MAP(DL_X_NAME)
#undef DL_X_NAME
};

const char *dl_hw_name(int cls) { return cls >= 0 && cls < DL_HW__N ? hw_names[cls] : "?"; }

int dl_hw_parse(const char *s) {
  if (!s) return -1;
  for (int i = 0; i < DL_HW__N; i++)
    if (!strcmp(s, hw_names[i])) return i;
  return -1;
}

/* ---- structural check ------------------------------------------------ */
#define BAD(...) (snprintf(why, len, __VA_ARGS__), DL_EFORMAT)

static int csr_ok(const uint32_t *start, uint32_t n, uint32_t total) {
  if (start[0] != 0 || start[n] != total) return 0;
  for (uint32_t i = 0; i < n; i++)
    if (start[i] > start[i + 1]) return 0;
  return 1;
}

int dl_net_check(const dl_net *n, char *why, size_t len) {
  char dummy[8];
  if (!why) why = dummy, len = sizeof dummy;
  if (n->n_str < 1 || n->str[0] != 0 || n->str[n->n_str - 1] != 0)
    return BAD("string pool is not NUL-framed");
  if (!(isfinite(n->grid_cell) && n->grid_cell > 0 && isfinite(n->grid_x0) && isfinite(n->grid_y0)))
    return BAD("grid origin or cell size not finite");
  if (n->grid_nx < 1 || n->grid_ny < 1 || (uint64_t)n->grid_nx * n->grid_ny > (1u << 30))
    return BAD("grid of %u x %u cells", n->grid_nx, n->grid_ny);
  if (!csr_ok(n->node_edge, n->n_nodes, n->n_edges)) return BAD("node edge offsets not monotone");
  if (!csr_ok(n->seg_vtx, n->n_segs, n->n_vtx)) return BAD("segment vertex offsets not monotone");
  if (!csr_ok(n->grid_start, n->grid_nx * n->grid_ny, n->n_items)) return BAD("grid cell offsets not monotone");
  for (uint32_t v = 0; v < n->n_nodes; v++)
    for (uint32_t e = n->node_edge[v]; e < n->node_edge[v + 1]; e++)
      if (n->edge_from[e] != v) return BAD("edge %u not listed under its from node", e);
  for (uint32_t e = 0; e < n->n_edges; e++) {
    if (n->edge_to[e] >= n->n_nodes || n->edge_seg[e] >= n->n_segs || n->edge_dir[e] > 1)
      return BAD("edge %u: node, segment or direction out of range", e);
    uint32_t s = n->edge_seg[e];
    if (dl_net_seg_edge(n, s, n->edge_dir[e]) != e) return BAD("edge %u: segment %u does not point back", e, s);
  }
  for (uint32_t s = 0; s < n->n_segs; s++) {
    if (n->seg_vtx[s + 1] - n->seg_vtx[s] < 2) return BAD("segment %u has fewer than 2 vertices", s);
    if (n->seg_from[s] >= n->n_nodes || n->seg_to[s] >= n->n_nodes) return BAD("segment %u: node out of range", s);
    for (int d = 0; d < 2; d++) {
      uint32_t e = dl_net_seg_edge(n, s, d);
      if (e != DL_NET_NONE && (e >= n->n_edges || n->edge_seg[e] != s || n->edge_dir[e] != d))
        return BAD("segment %u: edge %u does not belong to it", s, e);
    }
    if (n->seg_road[s] >= n->n_roads) return BAD("segment %u: road out of range", s);
    if (n->seg_township[s] < -1 || n->seg_township[s] >= (int32_t)n->n_townships ||
        n->seg_district[s] < -1 || n->seg_district[s] >= (int32_t)n->n_districts)
      return BAD("segment %u: township or district out of range", s);
    if (n->seg_name[s] >= n->n_str || n->seg_ref[s] >= n->n_str) return BAD("segment %u: name out of range", s);
    if (n->seg_class[s] >= DL_HW__N || n->seg_oneway[s] > 2) return BAD("segment %u: class or oneway out of range", s);
    for (uint32_t v = n->seg_vtx[s]; v < n->seg_vtx[s + 1]; v++)
      if (n->vtx_seg[v] != s) return BAD("vertex %u not in segment %u", v, s);
  }
  for (uint32_t r = 0; r < n->n_roads; r++)
    if (n->road_name[r] >= n->n_str || n->road_class[r] >= DL_HW__N) return BAD("road %u out of range", r);
  for (uint32_t t = 0; t < n->n_townships; t++)
    if (n->township_name[t] >= n->n_str) return BAD("township %u name out of range", t);
  for (uint32_t t = 0; t < n->n_districts; t++)
    if (n->district_name[t] >= n->n_str) return BAD("district %u name out of range", t);
  for (uint32_t i = 0; i < n->n_items; i++) {
    uint32_t v = n->grid_item[i];
    if (v + 1 >= n->n_vtx || v + 1 < v || n->vtx_seg[v] != n->vtx_seg[v + 1])
      return BAD("grid item %u: piece %u out of range", i, v);
  }
  return DL_OK;
}

/* ---- candidate search ------------------------------------------------ */
int dl_net_query_init(dl_net_query *q, size_t cap) {
  q->n = 0;
  q->cap = cap ? cap : 64;
  q->hit = malloc(q->cap * sizeof *q->hit);
  if (!q->hit) {
    q->cap = 0;
    return DL_ENOMEM;
  }
  return DL_OK;
}

void dl_net_query_free(dl_net_query *q) {
  if (!q) return;
  free(q->hit);
  q->hit = NULL;
  q->n = q->cap = 0;
}

static int q_grow(dl_net_query *q, size_t need) {
  if (need <= q->cap) return DL_OK;
  size_t c = q->cap ? q->cap : 64;
  while (c < need) c *= 2;
  dl_net_hit *h = realloc(q->hit, c * sizeof *h);
  if (!h) return DL_ENOMEM;
  q->hit = h;
  q->cap = c;
  return DL_OK;
}

/* Squared distance from (x,y) to piece v and its parameter t in [0,1]. */
static inline double piece_d2(const dl_net *n, uint32_t v, double x, double y, double *t) {
  double ax = n->vtx_x[v], ay = n->vtx_y[v];
  double dx = n->vtx_x[v + 1] - ax, dy = n->vtx_y[v + 1] - ay;
  double l2 = dx * dx + dy * dy, u = 0;
  if (l2 > 0) {
    u = ((x - ax) * dx + (y - ay) * dy) / l2;
    u = u < 0 ? 0 : u > 1 ? 1 : u;
  }
  double ex = ax + u * dx - x, ey = ay + u * dy - y;
  *t = u;
  return ex * ex + ey * ey;
}

static void fill_hit(const dl_net *n, uint32_t v, double t, double d2, dl_net_hit *h) {
  double ax = n->vtx_x[v], ay = n->vtx_y[v];
  double dx = n->vtx_x[v + 1] - ax, dy = n->vtx_y[v + 1] - ay;
  h->seg = n->vtx_seg[v];
  h->piece = v;
  h->dist = sqrt(d2);
  h->px = ax + t * dx;
  h->py = ay + t * dy;
  h->offset = n->vtx_off[v] + t * (n->vtx_off[v + 1] - n->vtx_off[v]);
  h->heading = n->vtx_head[v]; /* precomputed: atan2 would cost a third of a radius query */
}

void dl_net_piece_hit(const dl_net *n, uint32_t v, double x, double y, dl_net_hit *h) {
  double t, d2 = piece_d2(n, v, x, y, &t);
  fill_hit(n, v, t, d2, h);
}

/* Cell column of coordinate x, clamped into [-1, nx] so it fits an int. */
static inline long cell_of(double x, double x0, double cs, uint32_t nx) {
  double c = floor((x - x0) / cs);
  if (!(c >= -1)) return -1;
  if (c > (double)nx) return (long)nx;
  return (long)c;
}

static int cmp_hit(const void *a, const void *b) {
  const dl_net_hit *x = a, *y = b;
  if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
  if (x->seg != y->seg) return x->seg < y->seg ? -1 : 1;
  return (x->piece > y->piece) - (x->piece < y->piece);
}

int dl_net_radius(const dl_net *n, dl_net_query *q, double x, double y, double r,
                  unsigned flags) {
  q->n = 0;
  if (!(isfinite(x) && isfinite(y) && r >= 0 && isfinite(r))) return DL_OK;
  long i0 = cell_of(x - r, n->grid_x0, n->grid_cell, n->grid_nx);
  long i1 = cell_of(x + r, n->grid_x0, n->grid_cell, n->grid_nx);
  long j0 = cell_of(y - r, n->grid_y0, n->grid_cell, n->grid_ny);
  long j1 = cell_of(y + r, n->grid_y0, n->grid_cell, n->grid_ny);
  if (i0 < 0) i0 = 0;
  if (j0 < 0) j0 = 0;
  if (i1 >= (long)n->grid_nx) i1 = (long)n->grid_nx - 1;
  if (j1 >= (long)n->grid_ny) j1 = (long)n->grid_ny - 1;
  double r2 = r * r;
  int multi = (i0 != i1) || (j0 != j1); /* a piece may be listed in several cells */
  int rc = DL_OK;
  for (long j = j0; j <= j1; j++)
    for (long i = i0; i <= i1; i++) {
      size_t c = (size_t)j * n->grid_nx + (size_t)i;
      for (uint32_t k = n->grid_start[c]; k < n->grid_start[c + 1]; k++) {
        uint32_t v = n->grid_item[k];
        double t, d2 = piece_d2(n, v, x, y, &t);
        if (d2 > r2) continue;
        size_t m = q->n, h;
        if (flags & DL_NETQ_PER_SEGMENT) {
          uint32_t s = n->vtx_seg[v];
          for (h = 0; h < m; h++)
            if (q->hit[h].seg == s) break;
          if (h < m) {
            if (d2 < q->hit[h].dist * q->hit[h].dist) fill_hit(n, v, t, d2, &q->hit[h]);
            continue;
          }
        } else if (multi) {
          for (h = 0; h < m; h++)
            if (q->hit[h].piece == v) break;
          if (h < m) continue;
        }
        if (m == q->cap && q_grow(q, m + 1) != DL_OK) {
          rc = DL_ENOMEM;
          continue;
        }
        fill_hit(n, v, t, d2, &q->hit[q->n++]);
      }
    }
  if ((flags & DL_NETQ_SORT) && q->n > 1) qsort(q->hit, q->n, sizeof *q->hit, cmp_hit);
  return rc;
}

/* Inserts a candidate into the sorted k-list q->hit[0..q->n). */
static void knn_offer(const dl_net *n, dl_net_query *q, size_t k, uint32_t v, double t, double d2,
                      unsigned flags) {
  double d = sqrt(d2);
  size_t m = q->n;
  if (m == k && d >= q->hit[m - 1].dist) return;
  for (size_t h = 0; h < m; h++) {
    int same = (flags & DL_NETQ_PER_SEGMENT) ? q->hit[h].seg == n->vtx_seg[v] : q->hit[h].piece == v;
    if (!same) continue;
    if (d >= q->hit[h].dist) return;
    memmove(&q->hit[h], &q->hit[h + 1], (m - h - 1) * sizeof *q->hit); /* drop the worse copy */
    m = --q->n;
    break;
  }
  size_t pos = m < k ? m : k - 1;
  while (pos > 0 && q->hit[pos - 1].dist > d) {
    if (pos < k) q->hit[pos] = q->hit[pos - 1];
    pos--;
  }
  if (m < k) q->n = m + 1;
  fill_hit(n, v, t, d2, &q->hit[pos]);
}

int dl_net_nearest(const dl_net *n, dl_net_query *q, double x, double y, size_t k,
                   double max_dist, unsigned flags) {
  q->n = 0;
  if (k == 0 || !(isfinite(x) && isfinite(y)) || !(max_dist >= 0)) return DL_OK;
  if (q_grow(q, k) != DL_OK) return DL_ENOMEM;
  double cs = n->grid_cell;
  double fi = floor((x - n->grid_x0) / cs), fj = floor((y - n->grid_y0) / cs);
  double lim = 4.0 * ((double)n->grid_nx + n->grid_ny);
  if (fabs(fi) > lim || fabs(fj) > lim) return DL_OK; /* absurdly far from the network */
  long ci = (long)fi, cj = (long)fj, nx = n->grid_nx, ny = n->grid_ny;
  double md2 = isfinite(max_dist) ? max_dist * max_dist : INFINITY;
  for (long r = 0;; r++) {
    for (long j = cj - r; j <= cj + r; j++) {
      if (j < 0 || j >= ny) continue;
      long step = (j == cj - r || j == cj + r) ? 1 : 2 * r; /* ring only */
      for (long i = ci - r; i <= ci + r; i += step ? step : 1) {
        if (i >= 0 && i < nx) {
          size_t c = (size_t)j * (size_t)nx + (size_t)i;
          for (uint32_t it = n->grid_start[c]; it < n->grid_start[c + 1]; it++) {
            uint32_t v = n->grid_item[it];
            double t, d2 = piece_d2(n, v, x, y, &t);
            if (d2 <= md2) knn_offer(n, q, k, v, t, d2, flags);
          }
        }
        if (step == 0) break;
      }
    }
    double guaranteed = (double)r * cs;
    if (q->n == k && q->hit[k - 1].dist <= guaranteed) break;
    if (guaranteed >= max_dist) break;
    if (ci - r <= 0 && cj - r <= 0 && ci + r >= nx - 1 && cj + r >= ny - 1) break;
  }
  return DL_OK;
}

double dl_net_length(const dl_net *n, double *len_by_class, uint32_t *count_by_class) {
  if (len_by_class)
    for (int c = 0; c < DL_HW__N; c++) len_by_class[c] = 0;
  if (count_by_class)
    for (int c = 0; c < DL_HW__N; c++) count_by_class[c] = 0;
  double tot = 0;
  for (uint32_t s = 0; s < n->n_segs; s++) {
    tot += n->seg_len[s];
    if (len_by_class) len_by_class[n->seg_class[s]] += n->seg_len[s];
    if (count_by_class) count_by_class[n->seg_class[s]]++;
  }
  return tot;
}
