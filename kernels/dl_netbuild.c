/* dl_netbuild.c: compiles OSM ways + boundary polygons into a dl_net held
 * in heap arrays (filter, oneway, junction and boundary splitting, islands,
 * roads, CSR graph, grid), plus the GCJ-02 transform. */
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
typedef struct run {
  uint32_t way, start, len;
  uint8_t cls, oneway;
} run;

typedef struct tseg {
  uint32_t from, to, vtx, nvtx, run;
  int32_t town, dist;
  double len;
} tseg;

typedef struct build {
  const dl_netsrc *src;
  dl_netbuild_report *rep;
  vec runs, rnodes;                /* run, uint32 src node index */
  vec segs;                        /* tseg */
  vec vx, vy, vlat, vlon;          /* double: temp vertices */
  vec nx, ny, nlat, nlon, nosm;    /* graph nodes */
  uint32_t *node_of_src;           /* src node -> graph node */
  pindex town, dist;
  int have_town, have_dist;
  vec cuts, poly;                  /* double: cut positions; temp polyline */
} build;

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

static uint32_t graph_node(build *b, double x, double y, double lat, double lon, int64_t osm) {
  double *px = vpush(&b->nx), *py = vpush(&b->ny), *pa = vpush(&b->nlat), *po = vpush(&b->nlon);
  int64_t *pi = vpush(&b->nosm);
  if (!px || !py || !pa || !po || !pi) return DL_NET_NONE;
  *px = x, *py = y, *pa = lat, *po = lon, *pi = osm;
  return (uint32_t)(b->nx.n - 1);
}

static uint32_t src_node(build *b, uint32_t i) {
  if (b->node_of_src[i] == DL_NET_NONE) {
    const dl_netsrc *s = b->src;
    b->node_of_src[i] = graph_node(b, s->node_x[i], s->node_y[i], s->node_lat[i], s->node_lon[i], s->node_id[i]);
  }
  return b->node_of_src[i];
}

static int push_vtx(build *b, double x, double y, double lat, double lon) {
  double *a = vpush(&b->vx), *c = vpush(&b->vy), *d = vpush(&b->vlat), *f = vpush(&b->vlon);
  if (!a || !c || !d || !f) return -1;
  *a = x, *c = y, *d = lat, *f = lon;
  return 0;
}

/* Emits the polyline b->poly (4 doubles per vertex: x,y,lat,lon) of src
 * nodes first..last as one or more segments, cut at boundary crossings. */
static int emit(build *b, uint32_t ri, uint32_t first_src, uint32_t last_src) {
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
  /* pieces [s0, s1] */
  size_t vi = 0; /* first polyline vertex with cum > s0 */
  double s0 = 0;
  uint32_t from = src_node(b, first_src);
  if (from == DL_NET_NONE) goto oom;
  for (size_t k = 0; k <= nc; k++) {
    double s1 = k < nc ? C[k] : L;
    tseg *t = vpush(&b->segs);
    if (!t) goto oom;
    t->vtx = (uint32_t)b->vx.n;
    t->run = ri;
    t->from = from;
    /* start point */
    size_t i = vi ? vi - 1 : 0;
    double f = cum[i + 1] > cum[i] ? (s0 - cum[i]) / (cum[i + 1] - cum[i]) : 0;
    const double *a = P + 4 * i, *c = P + 4 * (i + 1);
    if (k == 0) {
      if (push_vtx(b, a[0], a[1], a[2], a[3])) goto oom;
      vi = 1;
    } else if (push_vtx(b, a[0] + f * (c[0] - a[0]), a[1] + f * (c[1] - a[1]), a[2] + f * (c[2] - a[2]),
                        a[3] + f * (c[3] - a[3])))
      goto oom;
    while (vi < m - 1 && cum[vi] < s1) {
      if (push_vtx(b, P[4 * vi], P[4 * vi + 1], P[4 * vi + 2], P[4 * vi + 3])) goto oom;
      vi++;
    }
    /* end point: the last vertex, or the cut on piece vi-1 .. vi */
    if (k == nc) {
      if (push_vtx(b, P[4 * (m - 1)], P[4 * (m - 1) + 1], P[4 * (m - 1) + 2], P[4 * (m - 1) + 3])) goto oom;
      t = &VAT(b->segs, tseg)[b->segs.n - 1];
      t->to = src_node(b, last_src);
      if (t->to == DL_NET_NONE) goto oom;
    } else {
      size_t j = vi - 1;
      double g = cum[j + 1] > cum[j] ? (s1 - cum[j]) / (cum[j + 1] - cum[j]) : 0;
      const double *u = P + 4 * j, *w = P + 4 * (j + 1);
      double x = u[0] + g * (w[0] - u[0]), y = u[1] + g * (w[1] - u[1]);
      double la = u[2] + g * (w[2] - u[2]), lo = u[3] + g * (w[3] - u[3]);
      if (push_vtx(b, x, y, la, lo)) goto oom;
      uint32_t nn = graph_node(b, x, y, la, lo, 0);
      if (nn == DL_NET_NONE) goto oom;
      t = &VAT(b->segs, tseg)[b->segs.n - 1];
      t->to = nn;
      from = nn;
    }
    t->nvtx = (uint32_t)(b->vx.n - t->vtx);
    /* length and midpoint label */
    const double *X = b->vx.p, *Y = b->vy.p;
    double len = 0;
    for (uint32_t v = t->vtx + 1; v < t->vtx + t->nvtx; v++) len += hypot(X[v] - X[v - 1], Y[v] - Y[v - 1]);
    t->len = len;
    double half = len / 2, acc = 0, mx = X[t->vtx], my = Y[t->vtx];
    for (uint32_t v = t->vtx + 1; v < t->vtx + t->nvtx; v++) {
      double d = hypot(X[v] - X[v - 1], Y[v] - Y[v - 1]);
      if (acc + d >= half && d > 0) {
        double g = (half - acc) / d;
        mx = X[v - 1] + g * (X[v] - X[v - 1]), my = Y[v - 1] + g * (Y[v] - Y[v - 1]);
        break;
      }
      acc += d;
    }
    t->town = b->have_town ? pindex_locate(&b->town, mx, my) : -1;
    t->dist = b->have_dist ? pindex_locate(&b->dist, mx, my) : -1;
    if (b->have_town && t->town < 0) b->rep->segs_outside_township++;
    if (b->have_dist && t->dist < 0) b->rep->segs_outside_district++;
    s0 = s1;
  }
  free(cum);
  return 0;
oom:
  free(cum);
  return -1;
}

static void *nb_alloc(dl_netbuf *o, size_t n, size_t elem) {
  if (o->n_mem == (int)(sizeof o->mem / sizeof o->mem[0])) return NULL;
  void *p = calloc(n ? n : 1, elem);
  if (p) o->mem[o->n_mem++] = p;
  return p;
}

void dl_netbuf_free(dl_netbuf *b) {
  if (!b) return;
  for (int i = 0; i < b->n_mem; i++) free(b->mem[i]);
  memset(b, 0, sizeof *b);
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

static int build_grid(dl_netbuf *o, double cs) {
  dl_net *n = &o->net;
  double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
  for (uint32_t v = 0; v < n->n_vtx; v++) {
    minx = fmin(minx, n->vtx_x[v]), maxx = fmax(maxx, n->vtx_x[v]);
    miny = fmin(miny, n->vtx_y[v]), maxy = fmax(maxy, n->vtx_y[v]);
  }
  while (((maxx - minx) / cs + 2) * ((maxy - miny) / cs + 2) > (double)(1u << 26)) cs *= 2;
  n->grid_cell = cs;
  n->grid_x0 = minx - 0.5 * cs;
  n->grid_y0 = miny - 0.5 * cs;
  n->grid_nx = (uint32_t)((maxx - n->grid_x0) / cs) + 1;
  n->grid_ny = (uint32_t)((maxy - n->grid_y0) / cs) + 1;
  size_t nc = (size_t)n->grid_nx * n->grid_ny;
  uint32_t *start = nb_alloc(o, nc + 1, sizeof *start), *item = NULL;
  if (!start) return -1;
  const double eps = 1e-6;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t s = 0; s < n->n_segs; s++)
      for (uint32_t v = n->seg_vtx[s]; v + 1 < n->seg_vtx[s + 1]; v++) {
        double ax = n->vtx_x[v], ay = n->vtx_y[v], bx = n->vtx_x[v + 1], by = n->vtx_y[v + 1];
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
      item = nb_alloc(o, n->n_items, sizeof *item);
      if (!item) return -1;
    } else {
      memmove(start + 1, start, nc * sizeof *start);
      start[0] = 0;
    }
  }
  n->grid_start = start;
  n->grid_item = item;
  return 0;
}

/* Frees a temporary as soon as its phase ends: the peak memory of an import
 * is what is alive at once. */
#define DROP(p) (free(p), (p) = NULL)

#define FAIL_OOM() do { rc = dl_errf(e, DL_ENOMEM, "network import: out of memory"); goto done; } while (0)

int dl_netbuild(const dl_netsrc *src, const dl_polyset *town, const dl_polyset *dist,
                const dl_netbuild_opts *o, dl_netbuf *out, dl_netbuild_report *rep, dl_err *e) {
  int rc = DL_OK;
  build B;
  memset(&B, 0, sizeof B);
  memset(out, 0, sizeof *out);
  memset(rep, 0, sizeof *rep);
  B.src = src;
  B.rep = rep;
  B.runs.elem = sizeof(run);
  B.rnodes.elem = sizeof(uint32_t);
  B.segs.elem = sizeof(tseg);
  B.vx.elem = B.vy.elem = B.vlat.elem = B.vlon.elem = sizeof(double);
  B.nx.elem = B.ny.elem = B.nlat.elem = B.nlon.elem = sizeof(double);
  B.nosm.elem = sizeof(int64_t);
  B.cuts.elem = sizeof(double);
  B.poly.elem = sizeof(double);
  idpair *perm = NULL;
  uint32_t *par = NULL, *nmap = NULL, *keep_seg = NULL;
  uint8_t *use = NULL;
  double *clen = NULL;
  strtab st;
  if (st_init(&st)) {
    st_free(&st);
    return dl_errf(e, DL_ENOMEM, "network import: out of memory");
  }
  rep->nodes_read = src->n_nodes;
  rep->ways_read = src->n_ways;
  if (src->n_nodes >= UINT32_MAX) {
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

  /* 2. junctions: nodes used twice or more, and run ends */
  use = calloc(src->n_nodes ? src->n_nodes : 1, 1);
  B.node_of_src = malloc((src->n_nodes ? src->n_nodes : 1) * sizeof *B.node_of_src);
  if (!use || !B.node_of_src) FAIL_OOM();
  for (size_t i = 0; i < src->n_nodes; i++) B.node_of_src[i] = DL_NET_NONE;
  const uint32_t *RN = B.rnodes.p;
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
        p[0] = src->node_x[sn], p[1] = src->node_y[sn], p[2] = src->node_lat[sn], p[3] = src->node_lon[sn];
        B.poly.n += 4;
      }
      if (emit(&B, (uint32_t)i, RN[r->start + k0], nk)) FAIL_OOM();
      k0 = k;
    }
  }
  if (B.segs.n >= UINT32_MAX || B.vx.n >= UINT32_MAX || B.nx.n >= UINT32_MAX) {
    rc = dl_errf(e, DL_ENODATA, "network import: too many segments for this format");
    goto done;
  }
  DROP(perm), DROP(use), DROP(B.node_of_src), DROP(B.cuts.p), DROP(B.poly.p);
  pindex_free(&B.town), pindex_free(&B.dist);

  /* 5. islands: weakly connected pieces shorter than min_island_m */
  size_t NS = B.segs.n, NN = B.nx.n;
  tseg *TS = B.segs.p;
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
  for (size_t s = 0; s < NS; s++) clen[find_root(par, TS[s].from)] += TS[s].len;
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
    nv += TS[s].nvtx;
    if (nmap[TS[s].from] == DL_NET_NONE) nmap[TS[s].from] = nnodes++;
    if (nmap[TS[s].to] == DL_NET_NONE) nmap[TS[s].to] = nnodes++;
  }
  if (ns == 0) {
    rc = dl_errf(e, DL_ENODATA, "network import: every road piece is shorter than the island limit %.0f m",
                 o->min_island_m);
    goto done;
  }
  DROP(par), DROP(clen);

  /* 6. final arrays */
  dl_net *n = &out->net;
  n->n_nodes = nnodes, n->n_segs = ns, n->n_vtx = nv;
  n->epsg = o->epsg;
  double *node_x = nb_alloc(out, nnodes, 8), *node_y = nb_alloc(out, nnodes, 8);
  double *node_lat = nb_alloc(out, nnodes, 8), *node_lon = nb_alloc(out, nnodes, 8);
  int64_t *node_osm = nb_alloc(out, nnodes, 8);
  uint32_t *seg_from = nb_alloc(out, ns, 4), *seg_to = nb_alloc(out, ns, 4), *seg_vtx = nb_alloc(out, ns + 1, 4);
  uint32_t *seg_fwd = nb_alloc(out, ns, 4), *seg_bwd = nb_alloc(out, ns, 4);
  double *seg_len = nb_alloc(out, ns, 8), *seg_max = nb_alloc(out, ns, 8);
  int64_t *seg_way = nb_alloc(out, ns, 8);
  uint32_t *seg_road = nb_alloc(out, ns, 4), *seg_name = nb_alloc(out, ns, 4), *seg_ref = nb_alloc(out, ns, 4);
  int32_t *seg_town = nb_alloc(out, ns, 4), *seg_dist = nb_alloc(out, ns, 4);
  uint8_t *seg_class = nb_alloc(out, ns, 1), *seg_oneway = nb_alloc(out, ns, 1);
  double *vtx_x = nb_alloc(out, nv, 8), *vtx_y = nb_alloc(out, nv, 8), *vtx_lat = nb_alloc(out, nv, 8);
  double *vtx_lon = nb_alloc(out, nv, 8), *vtx_off = nb_alloc(out, nv, 8);
  uint32_t *vtx_seg = nb_alloc(out, nv, 4);
  double *vtx_head = nb_alloc(out, nv, 8);
  if (!node_x || !node_y || !node_lat || !node_lon || !node_osm || !seg_from || !seg_to || !seg_vtx ||
      !seg_fwd || !seg_bwd || !seg_len || !seg_max || !seg_way || !seg_road || !seg_name || !seg_ref ||
      !seg_town || !seg_dist || !seg_class || !seg_oneway || !vtx_x || !vtx_y || !vtx_lat || !vtx_lon ||
      !vtx_off || !vtx_seg || !vtx_head)
    FAIL_OOM();
  for (size_t i = 0; i < NN; i++)
    if (nmap[i] != DL_NET_NONE) {
      uint32_t k = nmap[i];
      node_x[k] = VAT(B.nx, double)[i], node_y[k] = VAT(B.ny, double)[i];
      node_lat[k] = VAT(B.nlat, double)[i], node_lon[k] = VAT(B.nlon, double)[i];
      node_osm[k] = VAT(B.nosm, int64_t)[i];
    }
  DROP(B.nx.p), DROP(B.ny.p), DROP(B.nlat.p), DROP(B.nlon.p), DROP(B.nosm.p);
  vec roads = VEC(uint8_t); /* class of each road */
  vec rname = VEC(uint32_t);
  n->bbox[0] = n->bbox[1] = INFINITY;
  n->bbox[2] = n->bbox[3] = -INFINITY;
  uint32_t v = 0;
  for (size_t s = 0; s < NS; s++) {
    uint32_t k = keep_seg[s];
    if (k == DL_NET_NONE) continue;
    const tseg *t = &TS[s];
    const run *r = &VAT(B.runs, run)[t->run];
    size_t w = r->way;
    seg_from[k] = nmap[t->from], seg_to[k] = nmap[t->to];
    seg_vtx[k] = v;
    seg_len[k] = t->len;
    seg_max[k] = parse_maxspeed(tag(src, src->way_maxspeed, w));
    seg_way[k] = src->way_id[w];
    seg_town[k] = t->town, seg_dist[k] = t->dist;
    seg_class[k] = r->cls, seg_oneway[k] = r->oneway;
    const char *nm = tag(src, src->way_name, w), *rf = tag(src, src->way_ref, w);
    long en = nm ? st_intern(&st, nm, strlen(nm)) : -1, er = rf ? st_intern(&st, rf, strlen(rf)) : -1;
    if ((nm && en < 0) || (rf && er < 0)) {
      free(roads.p), free(rname.p);
      FAIL_OOM();
    }
    seg_name[k] = nm ? VAT(st.ent, ent)[en].off : 0;
    seg_ref[k] = rf ? VAT(st.ent, ent)[er].off : 0;
    char key[48];
    long ek = nm ? en : rf ? er : -1;
    if (ek < 0) {
      int kl = snprintf(key, sizeof key, "way %lld", (long long)src->way_id[w]);
      ek = st_intern(&st, key, (size_t)kl);
    }
    if (ek < 0) {
      free(roads.p), free(rname.p);
      FAIL_OOM();
    }
    ent *E = &VAT(st.ent, ent)[ek];
    if (E->road == DL_NET_NONE) {
      uint8_t *rc8 = vpush(&roads);
      uint32_t *rn = vpush(&rname);
      if (!rc8 || !rn) {
        free(roads.p), free(rname.p);
        FAIL_OOM();
      }
      E = &VAT(st.ent, ent)[ek];
      E->road = (uint32_t)(roads.n - 1);
      *rc8 = r->cls;
      *rn = E->off;
    }
    seg_road[k] = E->road;
    if (r->cls < VAT(roads, uint8_t)[E->road]) VAT(roads, uint8_t)[E->road] = r->cls;
    double off = 0;
    for (uint32_t j = 0; j < t->nvtx; j++, v++) {
      uint32_t q = t->vtx + j;
      vtx_x[v] = VAT(B.vx, double)[q], vtx_y[v] = VAT(B.vy, double)[q];
      if (j) off += hypot(vtx_x[v] - vtx_x[v - 1], vtx_y[v] - vtx_y[v - 1]);
      vtx_off[v] = off;
      vtx_seg[v] = k;
    }
    seg_len[k] = off; /* identical sum, same order */
    for (uint32_t q = seg_vtx[k]; q < v; q++) {
      uint32_t a = q + 1 < v ? q : q - 1; /* last vertex: its segment's last piece */
      double hd = atan2(vtx_x[a + 1] - vtx_x[a], vtx_y[a + 1] - vtx_y[a]) * (180.0 / M_PI);
      vtx_head[q] = hd < 0 ? hd + 360.0 : hd;
    }
  }
  seg_vtx[ns] = v;
  DROP(B.vx.p), DROP(B.vy.p), DROP(nmap);
  /* latitudes, then longitudes: one temporary column alive at a time */
  for (int c = 0; c < 2; c++) {
    double *dst = c ? vtx_lon : vtx_lat, lo = INFINITY, hi = -INFINITY;
    const double *from = c ? B.vlon.p : B.vlat.p;
    v = 0;
    for (size_t s = 0; s < NS; s++)
      if (keep_seg[s] != DL_NET_NONE)
        for (uint32_t j = 0; j < TS[s].nvtx; j++, v++) {
          dst[v] = from[TS[s].vtx + j];
          lo = fmin(lo, dst[v]), hi = fmax(hi, dst[v]);
        }
    n->bbox[c ? 0 : 1] = lo, n->bbox[c ? 2 : 3] = hi;
    if (c) DROP(B.vlon.p);
    else DROP(B.vlat.p);
  }
  DROP(B.segs.p), DROP(B.runs.p), DROP(B.rnodes.p), DROP(keep_seg);
  TS = NULL;
  n->n_roads = (uint32_t)roads.n;
  uint8_t *road_class = nb_alloc(out, roads.n, 1);
  uint32_t *road_name = nb_alloc(out, roads.n, 4);
  if (!road_class || !road_name) {
    free(roads.p), free(rname.p);
    FAIL_OOM();
  }
  memcpy(road_class, roads.p, roads.n);
  memcpy(road_name, rname.p, roads.n * 4);
  free(roads.p), free(rname.p);

  /* boundary names */
  const dl_polyset *sets[2] = {town, dist};
  uint32_t *names[2] = {NULL, NULL};
  for (int q = 0; q < 2; q++) {
    size_t np = sets[q] ? sets[q]->n_poly : 0;
    names[q] = nb_alloc(out, np, 4);
    if (!names[q]) FAIL_OOM();
    for (size_t p = 0; p < np; p++) {
      const char *nm = sets[q]->name[p] ? sets[q]->name[p] : "";
      long en = st_intern(&st, nm, strlen(nm));
      if (en < 0) FAIL_OOM();
      names[q][p] = VAT(st.ent, ent)[en].off;
    }
  }
  n->n_townships = town ? (uint32_t)town->n_poly : 0;
  n->n_districts = dist ? (uint32_t)dist->n_poly : 0;
  char *pool = nb_alloc(out, st.pool.n, 1);
  if (!pool) FAIL_OOM();
  memcpy(pool, st.pool.p, st.pool.n);
  n->n_str = (uint32_t)st.pool.n;
  st_free(&st);

  /* 7. directed edges, CSR by from node */
  uint32_t ne = 0;
  for (uint32_t s = 0; s < ns; s++) ne += seg_oneway[s] == DL_ONEWAY_YES ? 1 : 2;
  uint32_t *node_edge = nb_alloc(out, nnodes + 1, 4);
  uint32_t *edge_from = nb_alloc(out, ne, 4), *edge_to = nb_alloc(out, ne, 4), *edge_seg = nb_alloc(out, ne, 4);
  uint8_t *edge_dir = nb_alloc(out, ne, 1);
  double *edge_len = nb_alloc(out, ne, 8);
  if (!node_edge || !edge_from || !edge_to || !edge_seg || !edge_dir || !edge_len) FAIL_OOM();
  for (uint32_t s = 0; s < ns; s++) {
    node_edge[seg_from[s] + 1]++;
    if (seg_oneway[s] != DL_ONEWAY_YES) node_edge[seg_to[s] + 1]++;
  }
  for (uint32_t i = 0; i < nnodes; i++) node_edge[i + 1] += node_edge[i];
  for (uint32_t s = 0; s < ns; s++) {
    seg_fwd[s] = seg_bwd[s] = DL_NET_NONE;
    for (int d = 0; d < 2; d++) {
      if (d && seg_oneway[s] == DL_ONEWAY_YES) break;
      uint32_t a = d ? seg_to[s] : seg_from[s], b = d ? seg_from[s] : seg_to[s];
      uint32_t k = node_edge[a]++;
      edge_from[k] = a, edge_to[k] = b, edge_seg[k] = s, edge_dir[k] = (uint8_t)d, edge_len[k] = seg_len[s];
      if (d) seg_bwd[s] = k;
      else seg_fwd[s] = k;
    }
  }
  memmove(node_edge + 1, node_edge, nnodes * sizeof *node_edge);
  node_edge[0] = 0;
  n->n_edges = ne;

  n->node_x = node_x, n->node_y = node_y, n->node_lat = node_lat, n->node_lon = node_lon;
  n->node_osm = node_osm, n->node_edge = node_edge;
  n->edge_from = edge_from, n->edge_to = edge_to, n->edge_seg = edge_seg, n->edge_dir = edge_dir;
  n->edge_len = edge_len;
  n->seg_from = seg_from, n->seg_to = seg_to, n->seg_vtx = seg_vtx, n->seg_edge_fwd = seg_fwd;
  n->seg_edge_bwd = seg_bwd, n->seg_len = seg_len, n->seg_maxspeed = seg_max, n->seg_way = seg_way;
  n->seg_road = seg_road, n->seg_township = seg_town, n->seg_district = seg_dist;
  n->seg_name = seg_name, n->seg_ref = seg_ref, n->seg_class = seg_class, n->seg_oneway = seg_oneway;
  n->vtx_x = vtx_x, n->vtx_y = vtx_y, n->vtx_lat = vtx_lat, n->vtx_lon = vtx_lon, n->vtx_off = vtx_off;
  n->vtx_seg = vtx_seg, n->vtx_head = vtx_head;
  n->road_name = road_name, n->road_class = road_class;
  n->township_name = names[0], n->district_name = names[1];
  n->str = pool;

  /* 8. grid */
  if (build_grid(out, o->grid_cell > 0 ? o->grid_cell : 70.0)) FAIL_OOM();

done:
  free(perm), free(par), free(nmap), free(keep_seg), free(use), free(clen);
  free(B.runs.p), free(B.rnodes.p), free(B.segs.p), free(B.vx.p), free(B.vy.p), free(B.vlat.p);
  free(B.vlon.p), free(B.nx.p), free(B.ny.p), free(B.nlat.p), free(B.nlon.p), free(B.nosm.p);
  free(B.node_of_src), free(B.cuts.p), free(B.poly.p);
  pindex_free(&B.town), pindex_free(&B.dist);
  st_free(&st);
  if (rc != DL_OK) dl_netbuf_free(out);
  return rc;
}
