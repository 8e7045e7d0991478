/* dl_netbuild.c: compiles OSM ways + boundary polygons into a network
 * (filter, oneway, junction and boundary splitting, islands, roads, CSR
 * graph, grid) handed over array by array in file order, plus GCJ-02. */
#include "dl_netbuild.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GCJ-02 ---------------------------------------------------------- */
static double gcj_dlat(double x, double y) {
  double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
  r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
  r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
  r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
  return r;
}

static double gcj_dlon(double x, double y) {
  double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
  r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
  r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
  r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
  return r;
}

static int out_of_china(double lat, double lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

void dl_wgs84_to_gcj02(double lat, double lon, double *glat, double *glon) {
  if (out_of_china(lat, lon)) {
    *glat = lat, *glon = lon;
    return;
  }
  const double a = 6378245.0, ee = 0.00669342162296594323;
  double dlat = gcj_dlat(lon - 105.0, lat - 35.0), dlon = gcj_dlon(lon - 105.0, lat - 35.0);
  double rad = lat / 180.0 * M_PI, m = sin(rad);
  m = 1 - ee * m * m;
  double sm = sqrt(m);
  dlat = (dlat * 180.0) / ((a * (1 - ee)) / (m * sm) * M_PI);
  dlon = (dlon * 180.0) / (a / sm * cos(rad) * M_PI);
  *glat = lat + dlat;
  *glon = lon + dlon;
}

void dl_gcj02_to_wgs84(double glat, double glon, double *lat, double *lon) {
  double la = glat, lo = glon;
  for (int i = 0; i < 30; i++) {
    double fa, fo;
    dl_wgs84_to_gcj02(la, lo, &fa, &fo);
    double ea = fa - glat, eo = fo - glon;
    la -= ea;
    lo -= eo;
    if (fabs(ea) < 1e-11 && fabs(eo) < 1e-11) break;
  }
  *lat = la, *lon = lo;
}

/* ---- small growable arrays ------------------------------------------- */
typedef struct vec {
  void *p;
  size_t n, cap, elem;
} vec;

static int vreserve(vec *v, size_t need) {
  if (need <= v->cap) return 0;
  size_t c = v->cap ? v->cap : 256;
  while (c < need) c *= 2;
  void *p = realloc(v->p, c * v->elem);
  if (!p) return -1;
  v->p = p;
  v->cap = c;
  return 0;
}

static void *vpush(vec *v) {
  if (vreserve(v, v->n + 1)) return NULL;
  return (char *)v->p + v->n++ * v->elem;
}

#define VEC(T) {NULL, 0, 0, sizeof(T)}
#define VAT(v, T) ((T *)(v).p)

/* ---- string interning ------------------------------------------------- */
typedef struct strtab {
  vec pool;            /* chars */
  uint32_t *slot;      /* hash slots: entry index + 1, 0 empty */
  size_t nslot;
  vec ent;             /* struct ent */
} strtab;

typedef struct ent {
  uint32_t off, road;
} ent;

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int st_init(strtab *t) {
  memset(t, 0, sizeof *t);
  t->pool.elem = 1;
  t->ent.elem = sizeof(ent);
  t->nslot = 1024;
  t->slot = calloc(t->nslot, sizeof *t->slot);
  if (!t->slot || vreserve(&t->pool, 4096)) return -1;
  ((char *)t->pool.p)[0] = 0;
  t->pool.n = 1;
  return 0;
}

static void st_free(strtab *t) {
  free(t->pool.p);
  free(t->slot);
  free(t->ent.p);
  memset(t, 0, sizeof *t);
}

/* Entry index of string s (interned on first sight), or -1 on no memory. */
static long st_intern(strtab *t, const char *s, size_t n) {
  if (t->ent.n * 2 >= t->nslot) {
    size_t ns = t->nslot * 2;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return -1;
    for (size_t i = 0; i < t->ent.n; i++) {
      const char *k = (char *)t->pool.p + VAT(t->ent, ent)[i].off;
      size_t h = hash_str(k, strlen(k)) & (ns - 1);
      while (sl[h]) h = (h + 1) & (ns - 1);
      sl[h] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = sl;
    t->nslot = ns;
  }
  size_t h = hash_str(s, n) & (t->nslot - 1);
  while (t->slot[h]) {
    ent *x = &VAT(t->ent, ent)[t->slot[h] - 1];
    const char *k = (char *)t->pool.p + x->off;
    if (!strncmp(k, s, n) && k[n] == 0) return (long)(t->slot[h] - 1);
    h = (h + 1) & (t->nslot - 1);
  }
  if (vreserve(&t->pool, t->pool.n + n + 1) || t->pool.n + n + 1 > UINT32_MAX) return -1;
  ent *x = vpush(&t->ent);
  if (!x) return -1;
  x->off = (uint32_t)t->pool.n;
  x->road = DL_NET_NONE;
  memcpy((char *)t->pool.p + t->pool.n, s, n);
  ((char *)t->pool.p)[t->pool.n + n] = 0;
  t->pool.n += n + 1;
  t->slot[h] = (uint32_t)t->ent.n;
  return (long)(t->ent.n - 1);
}

/* ---- highway classification ------------------------------------------ */
static const char *const not_car[] = {
    "footway", "cycleway", "path", "steps", "pedestrian", "track", "bridleway", "corridor",
    "construction", "proposed", "platform", "bus_stop", "elevator", "raceway", "bus_guideway",
    "abandoned", "disused", "services", "rest_area", "escape", "crossing", "street_lamp",
    "traffic_signals", "emergency_access_point", "via_ferrata", "busway", NULL};

static void note_value(dl_netbuild_report *r, const char *v, int unknown) {
  for (int i = 0; i < r->n_values; i++)
    if (!strcmp(r->value[i], v)) {
      r->value_count[i]++;
      return;
    }
  if (r->n_values == DL_NB_MAX_VALUES) return;
  snprintf(r->value[r->n_values], sizeof r->value[0], "%s", v);
  r->value_count[r->n_values] = 1;
  r->value_unknown[r->n_values++] = unknown;
}

static const char *tag(const dl_netsrc *s, const uint32_t *col, size_t w) {
  if (!col || col[w] == 0 || col[w] >= s->n_str) return NULL;
  return s->str + col[w];
}

static double parse_maxspeed(const char *v) {
  if (!v) return NAN;
  char *end;
  double x = strtod(v, &end);
  if (end == v || !(x > 0 && x < 400)) return NAN;
  while (*end == ' ') end++;
  if (!strcmp(end, "mph")) return x * 1.609344;
  if (*end == 0 || !strcmp(end, "km/h") || !strcmp(end, "kmh")) return x;
  return NAN;
}

/* ---- boundary polygons: edge grid (cuts) and y-bands (point location) - */
typedef struct pedge {
  double x0, y0, x1, y1;
  uint32_t poly;
} pedge;

typedef struct pindex {
  const dl_polyset *ps;
  size_t n_edge;
  pedge *edge;
  double minx, miny, maxx, maxy, cs, bh;
  long nx, ny, nb;
  uint32_t *cstart, *citem, *bstart, *bitem;
  uint8_t *parity;
  uint32_t *touched;
} pindex;

static void pindex_free(pindex *p) {
  free(p->edge), free(p->cstart), free(p->citem), free(p->bstart), free(p->bitem);
  free(p->parity), free(p->touched);
  memset(p, 0, sizeof *p);
}

static long clampl(double v, long lo, long hi) {
  if (!(v >= (double)lo)) return lo;
  if (v > (double)hi) return hi;
  return (long)v;
}

static int pindex_build(pindex *p, const dl_polyset *ps) {
  memset(p, 0, sizeof *p);
  p->ps = ps;
  size_t ne = 0;
  size_t nring = ps->n_poly ? ps->poly_ring[ps->n_poly] : 0;
  for (size_t r = 0; r < nring; r++) ne += ps->ring_vtx[r + 1] - ps->ring_vtx[r];
  p->edge = malloc((ne ? ne : 1) * sizeof *p->edge);
  p->parity = calloc(ps->n_poly ? ps->n_poly : 1, 1);
  p->touched = malloc((ps->n_poly ? ps->n_poly : 1) * sizeof *p->touched);
  if (!p->edge || !p->parity || !p->touched) return -1;
  p->minx = p->miny = INFINITY;
  p->maxx = p->maxy = -INFINITY;
  for (size_t q = 0; q < ps->n_poly; q++)
    for (uint32_t r = ps->poly_ring[q]; r < ps->poly_ring[q + 1]; r++) {
      uint32_t a = ps->ring_vtx[r], b = ps->ring_vtx[r + 1];
      for (uint32_t v = a; v < b; v++) {
        uint32_t w = v + 1 < b ? v + 1 : a; /* closes the ring whether or not it repeats */
        if (ps->x[v] == ps->x[w] && ps->y[v] == ps->y[w]) continue;
        pedge *E = &p->edge[p->n_edge++];
        *E = (pedge){ps->x[v], ps->y[v], ps->x[w], ps->y[w], (uint32_t)q};
        p->minx = fmin(p->minx, ps->x[v]), p->maxx = fmax(p->maxx, ps->x[v]);
        p->miny = fmin(p->miny, ps->y[v]), p->maxy = fmax(p->maxy, ps->y[v]);
      }
    }
  if (!p->n_edge) return 0;
  double w = p->maxx - p->minx, h = p->maxy - p->miny;
  p->cs = 250;
  while ((w / p->cs + 1) * (h / p->cs + 1) > 4e6) p->cs *= 2;
  p->nx = (long)(w / p->cs) + 1, p->ny = (long)(h / p->cs) + 1;
  p->bh = p->cs, p->nb = p->ny;
  size_t nc = (size_t)p->nx * p->ny;
  p->cstart = calloc(nc + 1, sizeof *p->cstart);
  p->bstart = calloc(p->nb + 1, sizeof *p->bstart);
  if (!p->cstart || !p->bstart) return -1;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t k = 0; k < p->n_edge; k++) {
      const pedge *E = &p->edge[k];
      long i0 = clampl((fmin(E->x0, E->x1) - p->minx) / p->cs, 0, p->nx - 1);
      long i1 = clampl((fmax(E->x0, E->x1) - p->minx) / p->cs, 0, p->nx - 1);
      long j0 = clampl((fmin(E->y0, E->y1) - p->miny) / p->cs, 0, p->ny - 1);
      long j1 = clampl((fmax(E->y0, E->y1) - p->miny) / p->cs, 0, p->ny - 1);
      for (long j = j0; j <= j1; j++) {
        if (pass == 0) p->bstart[j + 1]++;
        else p->bitem[p->bstart[j]++] = (uint32_t)k;
        for (long i = i0; i <= i1; i++) {
          size_t c = (size_t)j * p->nx + i;
          if (pass == 0) p->cstart[c + 1]++;
          else p->citem[p->cstart[c]++] = (uint32_t)k;
        }
      }
    }
    if (pass == 0) {
      for (size_t c = 0; c < nc; c++) p->cstart[c + 1] += p->cstart[c];
      for (long b = 0; b < p->nb; b++) p->bstart[b + 1] += p->bstart[b];
      p->citem = malloc((p->cstart[nc] + 1) * sizeof *p->citem);
      p->bitem = malloc((p->bstart[p->nb] + 1) * sizeof *p->bitem);
      if (!p->citem || !p->bitem) return -1;
    } else { /* the fill pass advanced each start to the next one: shift back */
      memmove(p->cstart + 1, p->cstart, nc * sizeof *p->cstart);
      p->cstart[0] = 0;
      memmove(p->bstart + 1, p->bstart, p->nb * sizeof *p->bstart);
      p->bstart[0] = 0;
    }
  }
  return 0;
}

/* Polygon containing (x,y), lowest index when several do, or -1. */
static int pindex_locate(pindex *p, double x, double y) {
  if (!p->n_edge || !(y >= p->miny && y <= p->maxy && x >= p->minx && x <= p->maxx)) return -1;
  long b = clampl((y - p->miny) / p->bh, 0, p->nb - 1);
  size_t nt = 0;
  for (uint32_t k = p->bstart[b]; k < p->bstart[b + 1]; k++) {
    const pedge *E = &p->edge[p->bitem[k]];
    if ((E->y0 > y) == (E->y1 > y)) continue;
    double xi = E->x0 + (y - E->y0) * (E->x1 - E->x0) / (E->y1 - E->y0);
    if (x < xi) {
      if (!(p->parity[E->poly] & 2)) p->touched[nt++] = E->poly; /* bit 1: listed */
      p->parity[E->poly] ^= 1;
      p->parity[E->poly] |= 2;
    }
  }
  int best = -1;
  for (size_t i = 0; i < nt; i++) {
    uint32_t q = p->touched[i];
    if ((p->parity[q] & 1) && (best < 0 || (int)q < best)) best = (int)q;
    p->parity[q] = 0;
  }
  return best;
}

int dl_polyset_locate(const dl_polyset *ps, double x, double y) {
  for (size_t q = 0; q < ps->n_poly; q++) {
    int in = 0;
    for (uint32_t r = ps->poly_ring[q]; r < ps->poly_ring[q + 1]; r++) {
      uint32_t a = ps->ring_vtx[r], b = ps->ring_vtx[r + 1];
      for (uint32_t v = a; v < b; v++) {
        uint32_t w = v + 1 < b ? v + 1 : a;
        double y0 = ps->y[v], y1 = ps->y[w];
        if ((y0 > y) == (y1 > y)) continue;
        if (x < ps->x[v] + (y - y0) * (ps->x[w] - ps->x[v]) / (y1 - y0)) in ^= 1;
      }
    }
    if (in) return (int)q;
  }
  return -1;
}

/* Parameters t in (0,1) along a->b where it crosses polygon edges. */
static int pindex_cuts(const pindex *p, double ax, double ay, double bx, double by, vec *ts) {
  if (!p->n_edge) return 0;
  long i0 = clampl((fmin(ax, bx) - p->minx) / p->cs, 0, p->nx - 1);
  long i1 = clampl((fmax(ax, bx) - p->minx) / p->cs, 0, p->nx - 1);
  long j0 = clampl((fmin(ay, by) - p->miny) / p->cs, 0, p->ny - 1);
  long j1 = clampl((fmax(ay, by) - p->miny) / p->cs, 0, p->ny - 1);
  if (fmax(ax, bx) < p->minx || fmin(ax, bx) > p->maxx || fmax(ay, by) < p->miny || fmin(ay, by) > p->maxy)
    return 0;
  double rx = bx - ax, ry = by - ay;
  for (long j = j0; j <= j1; j++)
    for (long i = i0; i <= i1; i++) {
      size_t c = (size_t)j * p->nx + i;
      for (uint32_t k = p->cstart[c]; k < p->cstart[c + 1]; k++) {
        const pedge *E = &p->edge[p->citem[k]];
        double sx = E->x1 - E->x0, sy = E->y1 - E->y0;
        double den = rx * sy - ry * sx;
        if (fabs(den) < 1e-12) continue; /* parallel: no single crossing point */
        double qx = E->x0 - ax, qy = E->y0 - ay;
        double t = (qx * sy - qy * sx) / den, u = (qx * ry - qy * rx) / den;
        if (t > 0 && t < 1 && u >= 0 && u <= 1) {
          double *d = vpush(ts);
          if (!d) return -1;
          *d = t;
        }
      }
    }
  return 0;
}

/* ---- the build --------------------------------------------------------- */
/* ---- the columns of a network, in file order -------------------------- */
#define COL(name, field, elem, cnt) {name, elem, cnt, offsetof(dl_net, field)}
const dl_netcol dl_net_cols[] = {
    COL("node_x", node_x, 8, 0), COL("node_y", node_y, 8, 0), COL("node_lat", node_lat, 8, 0),
    COL("node_lon", node_lon, 8, 0), COL("node_osm", node_osm, 8, 0), COL("node_edge", node_edge, 4, 1),
    COL("edge_from", edge_from, 4, 2), COL("edge_to", edge_to, 4, 2), COL("edge_seg", edge_seg, 4, 2),
    COL("edge_dir", edge_dir, 1, 2), COL("edge_len", edge_len, 8, 2),
    COL("seg_from", seg_from, 4, 3), COL("seg_to", seg_to, 4, 3), COL("seg_vtx", seg_vtx, 4, 4),
    COL("seg_edge_fwd", seg_edge_fwd, 4, 3), COL("seg_edge_bwd", seg_edge_bwd, 4, 3),
    COL("seg_len", seg_len, 8, 3), COL("seg_maxspeed", seg_maxspeed, 8, 3), COL("seg_way", seg_way, 8, 3),
    COL("seg_road", seg_road, 4, 3), COL("seg_township", seg_township, 4, 3),
    COL("seg_district", seg_district, 4, 3), COL("seg_name", seg_name, 4, 3), COL("seg_ref", seg_ref, 4, 3),
    COL("seg_class", seg_class, 1, 3), COL("seg_oneway", seg_oneway, 1, 3),
    COL("vtx_x", vtx_x, 8, 5), COL("vtx_y", vtx_y, 8, 5), COL("vtx_lat", vtx_lat, 8, 5),
    COL("vtx_lon", vtx_lon, 8, 5), COL("vtx_off", vtx_off, 8, 5), COL("vtx_seg", vtx_seg, 4, 5),
    COL("vtx_head", vtx_head, 8, 5),
    COL("road_name", road_name, 4, 6), COL("road_class", road_class, 1, 6),
    COL("township_name", township_name, 4, 7), COL("district_name", district_name, 4, 8),
    COL("str", str, 1, 9), COL("grid_start", grid_start, 4, 10), COL("grid_item", grid_item, 4, 11),
};
#undef COL
const size_t dl_net_ncols = sizeof dl_net_cols / sizeof dl_net_cols[0];

/* ---- the build --------------------------------------------------------- */
typedef struct run {
  uint32_t way, start, len;
  uint8_t cls, oneway;
} run;

/* A segment while building: its vertices are vref[vtx] up to the next
 * segment's vtx (vertices are pushed segment after segment). */
typedef struct tseg {
  uint32_t from, to, vtx, run;
} tseg;

/* Vertex and graph node references: a src node index, or CUT | i for the
 * i-th boundary cut point (cutp: x, y, lat, lon). 4 bytes a vertex instead
 * of 32 until the columns are written: the peak memory of an import. */
#define CUT 0x80000000u

typedef struct build {
  const dl_netsrc *src;
  dl_netbuild_report *rep;
  const dl_netbuild_io *io;
  size_t next;                     /* next column to hand over */
  vec runs, rnodes;                /* run, uint32 src node index */
  vec segs;                        /* tseg */
  vec stown, sdist;                /* int32 per segment, with boundaries only */
  vec vref, gref, cutp;            /* vertex and graph node references, cut points */
  uint32_t *node_of_src;           /* kept node -> graph node */
  size_t nn;                       /* kept nodes: those of car roads, in src order */
  int64_t *nid;
  double *nx, *ny, *nlat, *nlon;
  pindex town, dist;
  int have_town, have_dist;
  vec cuts, poly;                  /* double: cut positions; temp polyline */
} build;

static const double *cut_at(const build *b, uint32_t r) { return (const double *)b->cutp.p + 4 * (size_t)(r & ~CUT); }
static double ref_x(const build *b, uint32_t r) { return r & CUT ? cut_at(b, r)[0] : b->nx[r]; }
static double ref_y(const build *b, uint32_t r) { return r & CUT ? cut_at(b, r)[1] : b->ny[r]; }
static double ref_lat(const build *b, uint32_t r) { return r & CUT ? cut_at(b, r)[2] : b->nlat[r]; }
static double ref_lon(const build *b, uint32_t r) { return r & CUT ? cut_at(b, r)[3] : b->nlon[r]; }

/* Tells the caller that src array p is no longer read (it may free it). */
static void src_done(build *b, const void *p) {
  if (b->io->done && p) b->io->done(b->io->user, p);
}

/* Hands the next column (heap data, count elements) to the sink. */
static int put_col(build *b, const char *name, uint64_t count, void *data) {
  if (!data) return DL_ENOMEM;
  if (b->next >= dl_net_ncols || strcmp(dl_net_cols[b->next].name, name)) {
    free(data);
    return DL_EINTERNAL;
  }
  return b->io->put(b->io->user, &dl_net_cols[b->next++], count, data);
}

/* Node ids sorted for binary search when the input is not sorted already. */
typedef struct idpair {
  int64_t id;
  uint32_t idx;
} idpair;

static int cmp_idpair(const void *a, const void *b) {
  int64_t x = ((const idpair *)a)->id, y = ((const idpair *)b)->id;
  return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long find_node(const int64_t *ids, const idpair *perm, size_t n, int64_t id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int64_t v = perm ? perm[mid].id : ids[mid];
    if (v < id) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n && (perm ? perm[lo].id : ids[lo]) == id) return (long)(perm ? perm[lo].idx : lo);
  return -1;
}

static uint32_t graph_node(build *b, uint32_t ref) {
  uint32_t *p = vpush(&b->gref);
  if (!p) return DL_NET_NONE;
  *p = ref;
  return (uint32_t)(b->gref.n - 1);
}

static uint32_t src_node(build *b, uint32_t i) {
  if (b->node_of_src[i] == DL_NET_NONE) b->node_of_src[i] = graph_node(b, i);
  return b->node_of_src[i];
}

static int push_ref(build *b, uint32_t ref) {
  uint32_t *p = vpush(&b->vref);
  if (!p) return -1;
  *p = ref;
  return 0;
}

static size_t seg_nvtx(const build *b, size_t s) {
  const tseg *T = b->segs.p;
  return (s + 1 < b->segs.n ? T[s + 1].vtx : b->vref.n) - T[s].vtx;
}

/* Projected polyline length of temp segment s (the sum in vertex order). */
static double seg_length(const build *b, size_t s) {
  const uint32_t *R = (const uint32_t *)b->vref.p + VAT(b->segs, tseg)[s].vtx;
  size_t n = seg_nvtx(b, s);
  double len = 0;
  for (size_t v = 1; v < n; v++) len += hypot(ref_x(b, R[v]) - ref_x(b, R[v - 1]), ref_y(b, R[v]) - ref_y(b, R[v - 1]));
  return len;
}

/* Emits the polyline b->poly (4 doubles per vertex: x,y,lat,lon) of src
 * nodes pn[0..] as one or more segments, cut at boundary crossings. */
static int emit(build *b, uint32_t ri, const uint32_t *pn) {
  const double *P = b->poly.p;
  size_t m = b->poly.n / 4;
  /* cumulative length */
  double *cum = malloc(m * sizeof *cum);
  if (!cum) return -1;
  cum[0] = 0;
  for (size_t i = 1; i < m; i++)
    cum[i] = cum[i - 1] + hypot(P[4 * i] - P[4 * i - 4], P[4 * i + 1] - P[4 * i - 3]);
  double L = cum[m - 1];
  b->cuts.n = 0;
  vec ts = VEC(double);
  for (size_t i = 0; i + 1 < m && (b->have_town || b->have_dist); i++) {
    ts.n = 0;
    const double *p0 = P + 4 * i, *p1 = P + 4 * i + 4;
    if ((b->have_town && pindex_cuts(&b->town, p0[0], p0[1], p1[0], p1[1], &ts)) ||
        (b->have_dist && pindex_cuts(&b->dist, p0[0], p0[1], p1[0], p1[1], &ts))) {
      free(ts.p), free(cum);
      return -1;
    }
    for (size_t k = 0; k < ts.n; k++) {
      double *c = vpush(&b->cuts);
      if (!c) {
        free(ts.p), free(cum);
        return -1;
      }
      *c = cum[i] + VAT(ts, double)[k] * (cum[i + 1] - cum[i]);
    }
  }
  free(ts.p);
  /* keep cuts at least 1 m from each other and from the ends */
  double *C = b->cuts.p;
  size_t nc = 0;
  if (b->cuts.n) qsort(C, b->cuts.n, sizeof *C, cmp_double);
  for (size_t k = 0; k < b->cuts.n; k++) {
    double prev = nc ? C[nc - 1] : 0;
    if (C[k] - prev >= 1.0 && L - C[k] >= 1.0) C[nc++] = C[k];
  }
  b->rep->boundary_cuts += nc;
  /* pieces [s0, s1]; a piece after a cut starts at that cut point */
  size_t vi = 1; /* first polyline vertex not yet in a piece */
  uint32_t from = src_node(b, pn[0]), start = pn[0];
  if (from == DL_NET_NONE) goto oom;
  for (size_t k = 0; k <= nc; k++) {
    double s1 = k < nc ? C[k] : L;
    tseg *t = vpush(&b->segs);
    if (!t) goto oom;
    t->vtx = (uint32_t)b->vref.n;
    t->run = ri;
    t->from = from;
    if (push_ref(b, start)) goto oom;
    while (vi < m - 1 && cum[vi] < s1) {
      if (push_ref(b, pn[vi])) goto oom;
      vi++;
    }
    /* end point: the last vertex, or the cut on piece vi-1 .. vi */
    uint32_t to;
    if (k == nc) {
      if (push_ref(b, pn[m - 1])) goto oom;
      to = src_node(b, pn[m - 1]);
    } else {
      size_t j = vi - 1;
      double g = cum[j + 1] > cum[j] ? (s1 - cum[j]) / (cum[j + 1] - cum[j]) : 0;
      const double *u = P + 4 * j, *w = P + 4 * (j + 1);
      double *c = vreserve(&b->cutp, b->cutp.n + 4) || b->cutp.n / 4 >= CUT ? NULL : (double *)b->cutp.p + b->cutp.n;
      if (!c) goto oom;
      c[0] = u[0] + g * (w[0] - u[0]), c[1] = u[1] + g * (w[1] - u[1]);
      c[2] = u[2] + g * (w[2] - u[2]), c[3] = u[3] + g * (w[3] - u[3]);
      start = CUT | (uint32_t)(b->cutp.n / 4);
      b->cutp.n += 4;
      if (push_ref(b, start)) goto oom;
      to = graph_node(b, start);
      from = to;
    }
    if (to == DL_NET_NONE) goto oom;
    t = &VAT(b->segs, tseg)[b->segs.n - 1];
    t->to = to;
    /* midpoint label */
    size_t s = b->segs.n - 1, n = seg_nvtx(b, s);
    const uint32_t *R = (const uint32_t *)b->vref.p + t->vtx;
    double len = seg_length(b, s);
    double half = len / 2, acc = 0, mx = ref_x(b, R[0]), my = ref_y(b, R[0]);
    for (size_t v = 1; v < n; v++) {
      double x0 = ref_x(b, R[v - 1]), y0 = ref_y(b, R[v - 1]), x1 = ref_x(b, R[v]), y1 = ref_y(b, R[v]);
      double d = hypot(x1 - x0, y1 - y0);
      if (acc + d >= half && d > 0) {
        double g = (half - acc) / d;
        mx = x0 + g * (x1 - x0), my = y0 + g * (y1 - y0);
        break;
      }
      acc += d;
    }
    if (b->have_town || b->have_dist) {
      int32_t *pt = vpush(&b->stown), *pd = vpush(&b->sdist);
      if (!pt || !pd) goto oom;
      *pt = b->have_town ? pindex_locate(&b->town, mx, my) : -1;
      *pd = b->have_dist ? pindex_locate(&b->dist, mx, my) : -1;
      if (b->have_town && *pt < 0) b->rep->segs_outside_township++;
      if (b->have_dist && *pd < 0) b->rep->segs_outside_district++;
    }
  }
  free(cum);
  return 0;
oom:
  free(cum);
  return -1;
}

static uint32_t find_root(uint32_t *par, uint32_t x) {
  while (par[x] != x) x = par[x] = par[par[x]];
  return x;
}

/* Does the straight piece a->b touch the closed rectangle? (Liang-Barsky) */
static int piece_in_rect(double ax, double ay, double bx, double by, double x0, double y0, double x1,
                         double y1) {
  double t0 = 0, t1 = 1, dx = bx - ax, dy = by - ay;
  double p[4] = {-dx, dx, -dy, dy}, q[4] = {ax - x0, x1 - ax, ay - y0, y1 - ay};
  for (int i = 0; i < 4; i++) {
    if (p[i] == 0) {
      if (q[i] < 0) return 0;
      continue;
    }
    double r = q[i] / p[i];
    if (p[i] < 0) {
      if (r > t1) return 0;
      if (r > t0) t0 = r;
    } else {
      if (r < t0) return 0;
      if (r < t1) t1 = r;
    }
  }
  return 1;
}

/* Grid index over the pieces of the final vertices (fref, seg_vtx sv):
 * hands grid_start and grid_item over. */
static int build_grid(build *b, dl_net *n, const uint32_t *fref, const uint32_t *sv, double cs) {
  double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
  for (uint32_t v = 0; v < n->n_vtx; v++) {
    double x = ref_x(b, fref[v]), y = ref_y(b, fref[v]);
    minx = fmin(minx, x), maxx = fmax(maxx, x);
    miny = fmin(miny, y), maxy = fmax(maxy, y);
  }
  while (((maxx - minx) / cs + 2) * ((maxy - miny) / cs + 2) > (double)(1u << 26)) cs *= 2;
  n->grid_cell = cs;
  n->grid_x0 = minx - 0.5 * cs;
  n->grid_y0 = miny - 0.5 * cs;
  n->grid_nx = (uint32_t)((maxx - n->grid_x0) / cs) + 1;
  n->grid_ny = (uint32_t)((maxy - n->grid_y0) / cs) + 1;
  size_t nc = (size_t)n->grid_nx * n->grid_ny;
  uint32_t *start = calloc(nc + 1, sizeof *start), *item = NULL;
  if (!start) return DL_ENOMEM;
  const double eps = 1e-6;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t s = 0; s < n->n_segs; s++)
      for (uint32_t v = sv[s]; v + 1 < sv[s + 1]; v++) {
        double ax = ref_x(b, fref[v]), ay = ref_y(b, fref[v]), bx = ref_x(b, fref[v + 1]), by = ref_y(b, fref[v + 1]);
        long i0 = clampl((fmin(ax, bx) - n->grid_x0) / cs, 0, n->grid_nx - 1);
        long i1 = clampl((fmax(ax, bx) - n->grid_x0) / cs, 0, n->grid_nx - 1);
        long j0 = clampl((fmin(ay, by) - n->grid_y0) / cs, 0, n->grid_ny - 1);
        long j1 = clampl((fmax(ay, by) - n->grid_y0) / cs, 0, n->grid_ny - 1);
        for (long j = j0; j <= j1; j++)
          for (long i = i0; i <= i1; i++) {
            double x0 = n->grid_x0 + i * cs, y0 = n->grid_y0 + j * cs;
            if ((i0 != i1 || j0 != j1) &&
                !piece_in_rect(ax, ay, bx, by, x0 - eps, y0 - eps, x0 + cs + eps, y0 + cs + eps))
              continue;
            size_t c = (size_t)j * n->grid_nx + i;
            if (pass == 0) start[c + 1]++;
            else item[start[c]++] = v;
          }
      }
    if (pass == 0) {
      for (size_t c = 0; c < nc; c++) start[c + 1] += start[c];
      n->n_items = start[nc];
      item = malloc((n->n_items ? n->n_items : 1) * sizeof *item);
      if (!item) {
        free(start);
        return DL_ENOMEM;
      }
    } else {
      memmove(start + 1, start, nc * sizeof *start);
      start[0] = 0;
    }
  }
  int rc = put_col(b, "grid_start", nc + 1, start);
  if (rc) {
    free(item);
    return rc;
  }
  return put_col(b, "grid_item", n->n_items, item);
}

/* Frees a temporary as soon as its phase ends: the peak memory of an import
 * is what is alive at once. */
#define DROP(p) (free(p), (p) = NULL)

#define FAIL(code)                                                                                   \
  do {                                                                                               \
    rc = (code) == DL_ENOMEM ? dl_errf(e, DL_ENOMEM, "network import: out of memory")                \
                             : dl_errf(e, (code), "network import: failed (%s)", dl_strerror(code));  \
    goto done;                                                                                       \
  } while (0)
#define FAIL_OOM() FAIL(DL_ENOMEM)
#define PUT(name, count, data)                        \
  do {                                                \
    int prc_ = put_col(&B, name, (count), (data));    \
    if (prc_) FAIL(prc_);                             \
  } while (0)
#define NEWCOL(p, count) ((p) = malloc(((count) ? (count) : 1) * sizeof *(p)))

int dl_netbuild_stream(const dl_netsrc *src, const dl_polyset *town, const dl_polyset *dist,
                       const dl_netbuild_opts *o, const dl_netbuild_io *io, dl_net *n,
                       dl_netbuild_report *rep, dl_err *e) {
  int rc = DL_OK;
  build B;
  memset(&B, 0, sizeof B);
  memset(n, 0, sizeof *n);
  memset(rep, 0, sizeof *rep);
  B.src = src;
  B.rep = rep;
  B.io = io;
  B.runs.elem = sizeof(run);
  B.rnodes.elem = sizeof(uint32_t);
  B.segs.elem = sizeof(tseg);
  B.stown.elem = B.sdist.elem = sizeof(int32_t);
  B.vref.elem = B.gref.elem = sizeof(uint32_t);
  B.cutp.elem = sizeof(double);
  B.cuts.elem = sizeof(double);
  B.poly.elem = sizeof(double);
  idpair *perm = NULL;
  uint32_t *par = NULL, *nmap = NULL, *keep_seg = NULL, *node_edge = NULL, *cur = NULL, *fref = NULL, *sv = NULL;
  uint32_t *col_name = NULL, *col_ref = NULL;
  uint8_t *use = NULL;
  double *clen = NULL;
  vec roads = VEC(uint8_t); /* class of each road */
  vec rname = VEC(uint32_t);
  strtab st;
  if (st_init(&st)) {
    st_free(&st);
    return dl_errf(e, DL_ENOMEM, "network import: out of memory");
  }
  rep->nodes_read = src->n_nodes;
  rep->ways_read = src->n_ways;
  if (src->n_nodes >= CUT) {
    rc = dl_errf(e, DL_ENODATA, "network import: %zu nodes is more than this format holds", src->n_nodes);
    goto done;
  }

  /* node lookup: binary search over ids, through a permutation if unsorted */
  int sorted = 1;
  for (size_t i = 1; i < src->n_nodes; i++)
    if (src->node_id[i] <= src->node_id[i - 1]) sorted = 0;
  if (!sorted) {
    perm = malloc(src->n_nodes * sizeof *perm);
    if (!perm) FAIL_OOM();
    for (size_t i = 0; i < src->n_nodes; i++) perm[i] = (idpair){src->node_id[i], (uint32_t)i};
    qsort(perm, src->n_nodes, sizeof *perm, cmp_idpair);
  }

  /* 1. kept ways -> runs of resolved nodes (split at missing nodes) */
  for (size_t w = 0; w < src->n_ways; w++) {
    const char *hw = tag(src, src->way_highway, w);
    if (!hw) {
      rep->ways_no_highway++;
      continue;
    }
    int cls = dl_hw_parse(hw);
    if (cls == DL_HW_SERVICE && !o->service) {
      rep->ways_service_skipped++;
      continue;
    }
    if (cls < 0) {
      int known = 0;
      for (int i = 0; not_car[i]; i++)
        if (!strcmp(hw, not_car[i])) known = 1;
      if (known) rep->ways_not_car++;
      else rep->ways_unknown_highway++;
      note_value(rep, hw, !known);
      continue;
    }
    const char *ow = tag(src, src->way_oneway, w), *jn = tag(src, src->way_junction, w);
    int oneway = DL_ONEWAY_NO, reverse = 0;
    if (ow) {
      if (!strcmp(ow, "yes") || !strcmp(ow, "1") || !strcmp(ow, "true")) oneway = DL_ONEWAY_YES;
      else if (!strcmp(ow, "-1") || !strcmp(ow, "reverse")) oneway = DL_ONEWAY_YES, reverse = 1;
      else if (!strcmp(ow, "reversible")) oneway = DL_ONEWAY_REVERSIBLE;
      else if (strcmp(ow, "no") && strcmp(ow, "0") && strcmp(ow, "false")) rep->oneway_unknown++;
    } else if (cls == DL_HW_MOTORWAY || (jn && (!strcmp(jn, "roundabout") || !strcmp(jn, "circular")))) {
      oneway = DL_ONEWAY_YES;
    }
    uint64_t a = src->way_nd[w], z = src->way_nd[w + 1];
    int missing = 0, any = 0;
    run *r = NULL;
    uint32_t last = DL_NET_NONE;
    for (uint64_t k = a; k <= z; k++) {
      long ni = k < z ? find_node(src->node_id, perm, src->n_nodes, src->nd_ref[k]) : -1;
      if (ni < 0) { /* end of way or a gap: close the current run */
        if (k < z) missing = 1, rep->missing_refs++;
        if (r) {
          if (r->len < 2) B.runs.n--, B.rnodes.n -= r->len, rep->ways_too_short++;
          else any = 1;
        }
        r = NULL;
        last = DL_NET_NONE;
        continue;
      }
      if ((uint32_t)ni == last) continue; /* repeated node */
      if (!r) {
        r = vpush(&B.runs);
        if (!r) FAIL_OOM();
        *r = (run){(uint32_t)w, (uint32_t)B.rnodes.n, 0, (uint8_t)cls, (uint8_t)oneway};
      }
      uint32_t *pn = vpush(&B.rnodes);
      if (!pn) FAIL_OOM();
      *pn = (uint32_t)ni;
      r->len++;
      last = (uint32_t)ni;
    }
    if (missing) rep->ways_missing_nodes++;
    if (any) rep->ways_kept++;
    if (reverse) { /* geometry follows the travel direction */
      for (size_t i = 0; i < B.runs.n; i++) {
        run *q = &VAT(B.runs, run)[B.runs.n - 1 - i];
        if (q->way != w) break;
        uint32_t *nd = VAT(B.rnodes, uint32_t) + q->start;
        for (uint32_t u = 0, v = q->len - 1; u < v; u++, v--) {
          uint32_t t = nd[u];
          nd[u] = nd[v], nd[v] = t;
        }
      }
    }
  }
  if (B.runs.n == 0) {
    rc = dl_errf(e, DL_ENODATA, "network import: no car road left (%llu ways read, %llu with a highway tag)",
                 (unsigned long long)src->n_ways, (unsigned long long)(src->n_ways - rep->ways_no_highway));
    goto done;
  }
  DROP(perm);
  src_done(&B, src->nd_ref), src_done(&B, src->way_nd), src_done(&B, src->way_highway);
  src_done(&B, src->way_oneway), src_done(&B, src->way_junction);

  /* 2. only the nodes of kept roads from here on: compact copies, one
   * column at a time, each src column released once copied */
  uint32_t *RN = B.rnodes.p;
  B.node_of_src = malloc((src->n_nodes ? src->n_nodes : 1) * sizeof *B.node_of_src);
  if (!B.node_of_src) FAIL_OOM();
  for (size_t i = 0; i < src->n_nodes; i++) B.node_of_src[i] = DL_NET_NONE;
  for (size_t k = 0; k < B.rnodes.n; k++) B.node_of_src[RN[k]] = 0;
  for (size_t i = 0; i < src->n_nodes; i++)
    if (B.node_of_src[i] == 0) B.node_of_src[i] = (uint32_t)B.nn++;
  for (size_t k = 0; k < B.rnodes.n; k++) RN[k] = B.node_of_src[RN[k]];
  if (!NEWCOL(B.nid, B.nn)) FAIL_OOM();
  for (size_t i = 0; i < src->n_nodes; i++)
    if (B.node_of_src[i] != DL_NET_NONE) B.nid[B.node_of_src[i]] = src->node_id[i];
  src_done(&B, src->node_id);
  const double *const scol[4] = {src->node_lat, src->node_lon, src->node_x, src->node_y};
  double **dcol[4] = {&B.nlat, &B.nlon, &B.nx, &B.ny};
  int proj = !src->node_x || !src->node_y; /* project only the nodes kept */
  if (proj && !io->project) FAIL(DL_EINTERNAL);
  for (int c = 0; c < 4; c++) {
    if (!NEWCOL(*dcol[c], B.nn)) FAIL_OOM();
    if (c < 2 || !proj)
      for (size_t i = 0; i < src->n_nodes; i++)
        if (B.node_of_src[i] != DL_NET_NONE) (*dcol[c])[B.node_of_src[i]] = scol[c][i];
    src_done(&B, scol[c]);
  }
  if (proj && (rc = io->project(io->user, B.nlat, B.nlon, B.nn, B.nx, B.ny))) FAIL(rc);

  /* junctions: nodes used twice or more, and run ends */
  use = calloc(B.nn, 1);
  uint32_t *shrunk = realloc(B.node_of_src, B.nn * sizeof *B.node_of_src);
  if (shrunk) B.node_of_src = shrunk;
  if (!use) FAIL_OOM();
  for (size_t i = 0; i < B.nn; i++) B.node_of_src[i] = DL_NET_NONE;
  for (size_t i = 0; i < B.runs.n; i++) {
    const run *r = &VAT(B.runs, run)[i];
    for (uint32_t k = 0; k < r->len; k++) {
      uint8_t *u = &use[RN[r->start + k]];
      if (*u < 2) (*u)++;
    }
    use[RN[r->start]] = 2;
    use[RN[r->start + r->len - 1]] = 2;
  }

  /* 3. boundary indexes */
  if (town && town->n_poly) {
    if (pindex_build(&B.town, town)) FAIL_OOM();
    B.have_town = 1;
  }
  if (dist && dist->n_poly) {
    if (pindex_build(&B.dist, dist)) FAIL_OOM();
    B.have_dist = 1;
  }

  /* 4. split runs at junctions, then at boundaries */
  for (size_t i = 0; i < B.runs.n; i++) {
    const run *r = &VAT(B.runs, run)[i];
    uint32_t k0 = 0;
    for (uint32_t k = 1; k < r->len; k++) {
      uint32_t nk = RN[r->start + k];
      if (use[nk] < 2) continue;
      B.poly.n = 0;
      for (uint32_t j = k0; j <= k; j++) {
        uint32_t sn = RN[r->start + j];
        if (vreserve(&B.poly, B.poly.n + 4)) FAIL_OOM();
        double *p = (double *)B.poly.p + B.poly.n;
        p[0] = B.nx[sn], p[1] = B.ny[sn], p[2] = B.nlat[sn], p[3] = B.nlon[sn];
        B.poly.n += 4;
      }
      if (emit(&B, (uint32_t)i, RN + r->start + k0)) FAIL_OOM();
      k0 = k;
    }
  }
  if (B.segs.n >= UINT32_MAX || B.vref.n >= UINT32_MAX || B.gref.n >= UINT32_MAX) {
    rc = dl_errf(e, DL_ENODATA, "network import: too many segments for this format");
    goto done;
  }
  DROP(use), DROP(B.node_of_src), DROP(B.cuts.p), DROP(B.poly.p), DROP(B.rnodes.p);
  pindex_free(&B.town), pindex_free(&B.dist);

  /* 5. islands: weakly connected pieces shorter than min_island_m */
  size_t NS = B.segs.n, NN = B.gref.n;
  const tseg *TS = B.segs.p;
  const run *RU = B.runs.p;
  par = malloc(NN * sizeof *par);
  clen = calloc(NN, sizeof *clen);
  keep_seg = malloc(NS * sizeof *keep_seg);
  nmap = malloc(NN * sizeof *nmap);
  if (!par || !clen || !keep_seg || !nmap) FAIL_OOM();
  for (size_t i = 0; i < NN; i++) par[i] = (uint32_t)i, nmap[i] = DL_NET_NONE;
  for (size_t s = 0; s < NS; s++) {
    uint32_t a = find_root(par, TS[s].from), b = find_root(par, TS[s].to);
    if (a != b) par[a] = b;
  }
  for (size_t s = 0; s < NS; s++) clen[find_root(par, TS[s].from)] += seg_length(&B, s);
  uint32_t ns = 0, nv = 0, nnodes = 0;
  for (size_t i = 0; i < NN; i++)
    if (find_root(par, (uint32_t)i) == i && clen[i] > 0 && clen[i] < o->min_island_m) {
      rep->islands_dropped++;
      rep->island_m += clen[i];
    }
  for (size_t s = 0; s < NS; s++) {
    if (clen[find_root(par, TS[s].from)] < o->min_island_m) {
      keep_seg[s] = DL_NET_NONE;
      rep->island_segments++;
      continue;
    }
    keep_seg[s] = ns++;
    nv += (uint32_t)seg_nvtx(&B, s);
    if (nmap[TS[s].from] == DL_NET_NONE) nmap[TS[s].from] = nnodes++;
    if (nmap[TS[s].to] == DL_NET_NONE) nmap[TS[s].to] = nnodes++;
  }
  if (ns == 0) {
    rc = dl_errf(e, DL_ENODATA, "network import: every road piece is shorter than the island limit %.0f m",
                 o->min_island_m);
    goto done;
  }
  DROP(par), DROP(clen);

  /* 6. the columns, in file order, each handed over when complete: only
   * one final column is alive at a time (plus the CSR offsets) */
  n->n_nodes = nnodes, n->n_segs = ns, n->n_vtx = nv;
  n->epsg = o->epsg;
  const uint32_t *GR = B.gref.p;
  for (int c = 0; c < 4; c++) {
    double *col;
    if (!NEWCOL(col, nnodes)) FAIL_OOM();
    for (size_t i = 0; i < NN; i++)
      if (nmap[i] != DL_NET_NONE) {
        uint32_t r = GR[i];
        col[nmap[i]] = c == 0 ? ref_x(&B, r) : c == 1 ? ref_y(&B, r) : c == 2 ? ref_lat(&B, r) : ref_lon(&B, r);
      }
    PUT(dl_net_cols[c].name, nnodes, col);
  }
  int64_t *osm;
  if (!NEWCOL(osm, nnodes)) FAIL_OOM();
  for (size_t i = 0; i < NN; i++)
    if (nmap[i] != DL_NET_NONE) osm[nmap[i]] = GR[i] & CUT ? 0 : B.nid[GR[i]];
  PUT("node_osm", nnodes, osm);
  DROP(B.gref.p), DROP(B.nid);
  GR = NULL;

  /* 7. directed edges, CSR by from node */
  uint32_t ne = 0;
  node_edge = calloc(nnodes + 1, sizeof *node_edge);
  cur = malloc((nnodes + 1) * sizeof *cur);
  if (!node_edge || !cur) FAIL_OOM();
  for (size_t s = 0; s < NS; s++)
    if (keep_seg[s] != DL_NET_NONE) {
      int two = RU[TS[s].run].oneway != DL_ONEWAY_YES;
      ne += two ? 2 : 1;
      node_edge[nmap[TS[s].from] + 1]++;
      if (two) node_edge[nmap[TS[s].to] + 1]++;
    }
  for (uint32_t i = 0; i < nnodes; i++) node_edge[i + 1] += node_edge[i];
  n->n_edges = ne;
  uint32_t *ne_copy;
  if (!NEWCOL(ne_copy, nnodes + 1)) FAIL_OOM();
  memcpy(ne_copy, node_edge, (nnodes + 1) * sizeof *ne_copy);
  PUT("node_edge", nnodes + 1, ne_copy);
  /* each edge column and then seg_edge_fwd/bwd: the same fill in the same order */
  for (int c = 0; c < 7; c++) {
    static const char *const names[7] = {"edge_from", "edge_to", "edge_seg", "edge_dir", "edge_len",
                                         "seg_edge_fwd", "seg_edge_bwd"};
    static const size_t el[7] = {4, 4, 4, 1, 8, 4, 4};
    size_t cnt = c < 5 ? ne : ns;
    void *col = malloc((cnt ? cnt : 1) * el[c]);
    if (!col) FAIL_OOM();
    if (c >= 5)
      for (size_t k = 0; k < ns; k++) ((uint32_t *)col)[k] = DL_NET_NONE;
    memcpy(cur, node_edge, (nnodes + 1) * sizeof *cur);
    for (size_t s = 0; s < NS; s++) {
      uint32_t k = keep_seg[s];
      if (k == DL_NET_NONE) continue;
      uint32_t f = nmap[TS[s].from], t = nmap[TS[s].to];
      double len = c == 4 ? seg_length(&B, s) : 0;
      for (int d = 0; d < 2; d++) {
        if (d && RU[TS[s].run].oneway == DL_ONEWAY_YES) break;
        uint32_t a = d ? t : f, bb = d ? f : t, x = cur[a]++;
        switch (c) {
          case 0: ((uint32_t *)col)[x] = a; break;
          case 1: ((uint32_t *)col)[x] = bb; break;
          case 2: ((uint32_t *)col)[x] = k; break;
          case 3: ((uint8_t *)col)[x] = (uint8_t)d; break;
          case 4: ((double *)col)[x] = len; break;
          default:
            if ((c == 5) == (d == 0)) ((uint32_t *)col)[k] = x;
        }
      }
    }
    if (c == 5) { /* seg_from, seg_to, seg_vtx come first */
      uint32_t *sf = NULL, *stt = NULL;
      if (!NEWCOL(sf, ns) || !NEWCOL(stt, ns) || !NEWCOL(sv, ns + 1)) {
        free(col), free(sf), free(stt);
        FAIL_OOM();
      }
      uint32_t v = 0;
      for (size_t s = 0; s < NS; s++) {
        uint32_t k = keep_seg[s];
        if (k == DL_NET_NONE) continue;
        sf[k] = nmap[TS[s].from], stt[k] = nmap[TS[s].to], sv[k] = v;
        v += (uint32_t)seg_nvtx(&B, s);
      }
      sv[ns] = v;
      uint32_t *svc = malloc((ns + 1) * sizeof *svc);
      if (svc) memcpy(svc, sv, (ns + 1) * sizeof *svc);
      int prc = put_col(&B, "seg_from", ns, sf);
      if (!prc) prc = put_col(&B, "seg_to", ns, stt);
      if (!prc) prc = put_col(&B, "seg_vtx", ns + 1, svc);
      if (prc) {
        free(col);
        FAIL(prc);
      }
    }
    PUT(names[c], cnt, col);
  }
  DROP(node_edge), DROP(cur), DROP(nmap);

  /* segments: length (and the total), speed limit, way, names and roads */
  double *slen, tot = 0;
  if (!NEWCOL(slen, ns)) FAIL_OOM();
  for (size_t s = 0; s < NS; s++)
    if (keep_seg[s] != DL_NET_NONE) tot += slen[keep_seg[s]] = seg_length(&B, s);
  rep->length_m = tot;
  PUT("seg_len", ns, slen);
  double *smax;
  if (!NEWCOL(smax, ns)) FAIL_OOM();
  for (size_t s = 0; s < NS; s++)
    if (keep_seg[s] != DL_NET_NONE) smax[keep_seg[s]] = parse_maxspeed(tag(src, src->way_maxspeed, RU[TS[s].run].way));
  PUT("seg_maxspeed", ns, smax);
  int64_t *sway;
  if (!NEWCOL(sway, ns)) FAIL_OOM();
  for (size_t s = 0; s < NS; s++)
    if (keep_seg[s] != DL_NET_NONE) sway[keep_seg[s]] = src->way_id[RU[TS[s].run].way];
  PUT("seg_way", ns, sway);
  uint32_t *sroad;
  if (!NEWCOL(sroad, ns) || !NEWCOL(col_name, ns) || !NEWCOL(col_ref, ns)) {
    free(sroad);
    FAIL_OOM();
  }
  for (size_t s = 0; s < NS; s++) {
    uint32_t k = keep_seg[s];
    if (k == DL_NET_NONE) continue;
    const run *r = &RU[TS[s].run];
    size_t w = r->way;
    const char *nm = tag(src, src->way_name, w), *rf = tag(src, src->way_ref, w);
    long en = nm ? st_intern(&st, nm, strlen(nm)) : -1, er = rf ? st_intern(&st, rf, strlen(rf)) : -1;
    if ((nm && en < 0) || (rf && er < 0)) {
      free(sroad);
      FAIL_OOM();
    }
    col_name[k] = nm ? VAT(st.ent, ent)[en].off : 0;
    col_ref[k] = rf ? VAT(st.ent, ent)[er].off : 0;
    char key[48];
    long ek = nm ? en : rf ? er : -1;
    if (ek < 0) {
      int kl = snprintf(key, sizeof key, "way %lld", (long long)src->way_id[w]);
      ek = st_intern(&st, key, (size_t)kl);
    }
    if (ek < 0) {
      free(sroad);
      FAIL_OOM();
    }
    ent *E = &VAT(st.ent, ent)[ek];
    if (E->road == DL_NET_NONE) {
      uint8_t *rc8 = vpush(&roads);
      uint32_t *rn = vpush(&rname);
      if (!rc8 || !rn) {
        free(sroad);
        FAIL_OOM();
      }
      E = &VAT(st.ent, ent)[ek];
      E->road = (uint32_t)(roads.n - 1);
      *rc8 = r->cls;
      *rn = E->off;
    }
    sroad[k] = E->road;
    if (r->cls < VAT(roads, uint8_t)[E->road]) VAT(roads, uint8_t)[E->road] = r->cls;
  }
  PUT("seg_road", ns, sroad);
  src_done(&B, src->way_id), src_done(&B, src->way_name), src_done(&B, src->way_ref);
  src_done(&B, src->way_maxspeed), src_done(&B, src->str);
  for (int q = 0; q < 2; q++) {
    int32_t *lab;
    if (!NEWCOL(lab, ns)) FAIL_OOM();
    const int32_t *from = q ? B.sdist.p : B.stown.p;
    for (size_t s = 0; s < NS; s++)
      if (keep_seg[s] != DL_NET_NONE) lab[keep_seg[s]] = from ? from[s] : -1;
    PUT(q ? "seg_district" : "seg_township", ns, lab);
  }
  DROP(B.stown.p), DROP(B.sdist.p);
  PUT("seg_name", ns, col_name);
  col_name = NULL;
  PUT("seg_ref", ns, col_ref);
  col_ref = NULL;
  for (int q = 0; q < 2; q++) {
    uint8_t *c8;
    if (!NEWCOL(c8, ns)) FAIL_OOM();
    for (size_t s = 0; s < NS; s++)
      if (keep_seg[s] != DL_NET_NONE) c8[keep_seg[s]] = q ? RU[TS[s].run].oneway : RU[TS[s].run].cls;
    PUT(q ? "seg_oneway" : "seg_class", ns, c8);
  }

  /* 8. vertices, through their final order */
  if (!NEWCOL(fref, nv)) FAIL_OOM();
  for (size_t s = 0, v = 0; s < NS; s++)
    if (keep_seg[s] != DL_NET_NONE)
      for (size_t j = 0, m = seg_nvtx(&B, s); j < m; j++) fref[v++] = VAT(B.vref, uint32_t)[TS[s].vtx + j];
  DROP(B.segs.p), DROP(B.runs.p), DROP(B.vref.p), DROP(keep_seg);
  TS = NULL, RU = NULL;
  for (int c = 0; c < 4; c++) {
    double *col, lo = INFINITY, hi = -INFINITY;
    if (!NEWCOL(col, nv)) FAIL_OOM();
    for (uint32_t v = 0; v < nv; v++) {
      uint32_t r = fref[v];
      col[v] = c == 0 ? ref_x(&B, r) : c == 1 ? ref_y(&B, r) : c == 2 ? ref_lat(&B, r) : ref_lon(&B, r);
      lo = fmin(lo, col[v]), hi = fmax(hi, col[v]);
    }
    if (c == 2) n->bbox[1] = lo, n->bbox[3] = hi;
    if (c == 3) n->bbox[0] = lo, n->bbox[2] = hi;
    PUT(dl_net_cols[26 + c].name, nv, col);
  }
  DROP(B.nlat), DROP(B.nlon);
  double *voff;
  uint32_t *vseg;
  if (!NEWCOL(voff, nv)) FAIL_OOM();
  for (uint32_t k = 0; k < ns; k++) {
    double off = 0;
    for (uint32_t v = sv[k]; v < sv[k + 1]; v++) {
      if (v > sv[k])
        off += hypot(ref_x(&B, fref[v]) - ref_x(&B, fref[v - 1]), ref_y(&B, fref[v]) - ref_y(&B, fref[v - 1]));
      voff[v] = off;
    }
  }
  PUT("vtx_off", nv, voff);
  if (!NEWCOL(vseg, nv)) FAIL_OOM();
  for (uint32_t k = 0; k < ns; k++)
    for (uint32_t v = sv[k]; v < sv[k + 1]; v++) vseg[v] = k;
  PUT("vtx_seg", nv, vseg);
  double *vhead;
  if (!NEWCOL(vhead, nv)) FAIL_OOM();
  for (uint32_t k = 0; k < ns; k++)
    for (uint32_t q = sv[k]; q < sv[k + 1]; q++) {
      uint32_t a = q + 1 < sv[k + 1] ? q : q - 1; /* last vertex: its segment's last piece */
      double hd = atan2(ref_x(&B, fref[a + 1]) - ref_x(&B, fref[a]), ref_y(&B, fref[a + 1]) - ref_y(&B, fref[a])) *
                  (180.0 / M_PI);
      vhead[q] = hd < 0 ? hd + 360.0 : hd;
    }
  PUT("vtx_head", nv, vhead);

  /* 9. roads, boundary names, strings */
  n->n_roads = (uint32_t)roads.n;
  PUT("road_name", roads.n, rname.p ? rname.p : malloc(1));
  rname.p = NULL;
  PUT("road_class", roads.n, roads.p ? roads.p : malloc(1));
  roads.p = NULL;
  const dl_polyset *sets[2] = {town, dist};
  for (int q = 0; q < 2; q++) {
    size_t np = sets[q] ? sets[q]->n_poly : 0;
    uint32_t *names;
    if (!NEWCOL(names, np)) FAIL_OOM();
    for (size_t p = 0; p < np; p++) {
      const char *nm = sets[q]->name[p] ? sets[q]->name[p] : "";
      long en = st_intern(&st, nm, strlen(nm));
      if (en < 0) {
        free(names);
        FAIL_OOM();
      }
      names[p] = VAT(st.ent, ent)[en].off;
    }
    PUT(q ? "district_name" : "township_name", np, names);
  }
  n->n_townships = town ? (uint32_t)town->n_poly : 0;
  n->n_districts = dist ? (uint32_t)dist->n_poly : 0;
  n->n_str = (uint32_t)st.pool.n;
  void *pool = st.pool.p;
  st.pool.p = NULL;
  st_free(&st);
  PUT("str", n->n_str, pool);

  /* 10. grid */
  if ((rc = build_grid(&B, n, fref, sv, o->grid_cell > 0 ? o->grid_cell : 70.0))) FAIL(rc);
  if (B.next != dl_net_ncols) FAIL(DL_EINTERNAL);

done:
  free(perm), free(par), free(nmap), free(keep_seg), free(use), free(clen), free(node_edge), free(cur);
  free(fref), free(sv), free(col_name), free(col_ref), free(roads.p), free(rname.p);
  free(B.runs.p), free(B.rnodes.p), free(B.segs.p), free(B.stown.p), free(B.sdist.p), free(B.vref.p);
  free(B.gref.p), free(B.cutp.p), free(B.node_of_src), free(B.cuts.p), free(B.poly.p);
  free(B.nid), free(B.nx), free(B.ny), free(B.nlat), free(B.nlon);
  pindex_free(&B.town), pindex_free(&B.dist);
  st_free(&st);
  return rc;
}

/* The heap sink: keeps each column and points the dl_net at it. */
static int keep_col(void *user, const dl_netcol *col, uint64_t count, void *data) {
  (void)count;
  dl_netbuf *b = user;
  if (b->n_mem == (int)(sizeof b->mem / sizeof b->mem[0])) {
    free(data);
    return DL_EINTERNAL;
  }
  b->mem[b->n_mem++] = data;
  *(void **)((char *)&b->net + col->off) = data;
  return DL_OK;
}

int dl_netbuild(const dl_netsrc *src, const dl_polyset *town, const dl_polyset *dist,
                const dl_netbuild_opts *o, dl_netbuf *out, dl_netbuild_report *rep, dl_err *e) {
  memset(out, 0, sizeof *out);
  dl_net n;
  dl_netbuild_io io = {keep_col, NULL, NULL, out};
  int rc = dl_netbuild_stream(src, town, dist, o, &io, &n, rep, e);
  if (rc) {
    dl_netbuf_free(out);
    return rc;
  }
  for (size_t i = 0; i < dl_net_ncols; i++) /* the scalars from n, the arrays as kept */
    *(const void **)((char *)&n + dl_net_cols[i].off) = *(const void **)((char *)&out->net + dl_net_cols[i].off);
  out->net = n;
  return DL_OK;
}

void dl_netbuf_free(dl_netbuf *b) {
  if (!b) return;
  for (int i = 0; i < b->n_mem; i++) free(b->mem[i]);
  memset(b, 0, sizeof *b);
}
