/* bench_match_truth.c: scores a `dustload match` output against the truth of
 * `dustload simulate` on the network both used: interior and all fixes on
 * their true segment, and matched positions within 5 m of the true
 * trajectory (the road path driven from 10 s before to 10 s after, built
 * from the network geometry, not chords between the 1 Hz truth points).
 * usage: bench_match_truth NET TRUTH_POINTS.csv MATCH.csv [DUMP.csv]
 * DUMP gets one row per fix (for classifying the wrong ones): time, true
 * segment and offset, matched segment and offset, interior flag, status
 * (0-3, -1 no row), metres to the true position and to the true
 * trajectory, whether the two segments share a node, the angle between
 * them, their one-way flags and classes, metres from the true position to
 * the nearer end of its segment. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_match.h"
#include "dl_netopen.h"

#define WIN 10 /* seconds of trajectory on each side */

typedef struct row {
  char time[40];
  uint32_t seg, mseg;
  double off, moff, lat, lon;
  int status; /* -1: no match row */
} row;

/* Splits a CSV line in place into at most max fields; returns the count. */
static int split(char *s, char **f, int max) {
  int n = 0;
  s[strcspn(s, "\r\n")] = 0;
  while (n < max) {
    f[n++] = s;
    char *c = strchr(s, ',');
    if (!c) break;
    *c = 0, s = c + 1;
  }
  return n;
}

/* Distance from (x,y) to segment s between offsets o0 and o1 (either order). */
static double seg_part_dist(const dl_net *n, uint32_t s, double o0, double o1, double x, double y) {
  double lo = fmin(o0, o1), hi = fmax(o0, o1), best = INFINITY;
  for (uint32_t v = n->seg_vtx[s]; v + 1 < n->seg_vtx[s + 1]; v++) {
    double a = n->vtx_off[v], b = n->vtx_off[v + 1];
    if (b < lo || a > hi || b <= a) continue;
    double ua = fmax(0, (lo - a) / (b - a)), ub = fmin(1, (hi - a) / (b - a));
    double ax = n->vtx_x[v] + ua * (n->vtx_x[v + 1] - n->vtx_x[v]), ay = n->vtx_y[v] + ua * (n->vtx_y[v + 1] - n->vtx_y[v]);
    double bx = n->vtx_x[v] + ub * (n->vtx_x[v + 1] - n->vtx_x[v]), by = n->vtx_y[v] + ub * (n->vtx_y[v + 1] - n->vtx_y[v]);
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, u = 0;
    if (l2 > 0) u = fmax(0, fmin(1, ((x - ax) * dx + (y - ay) * dy) / l2));
    double d = hypot(ax + u * dx - x, ay + u * dy - y);
    if (d < best) best = d;
  }
  if (!isfinite(best)) { /* a zero-length part */
    double px, py;
    dl_match_seg_point(n, s, lo, &px, &py, NULL, NULL);
    best = hypot(px - x, py - y);
  }
  return best;
}

/* Distance from (x,y) to the path driven between truth rows a and b (a
 * second apart): along one segment, or through the node the two share. */
static double step_dist(const dl_net *n, const row *a, const row *b, double x, double y) {
  if (a->seg == b->seg) return seg_part_dist(n, a->seg, a->off, b->off, x, y);
  uint32_t af = n->seg_from[a->seg], at = n->seg_to[a->seg], bf = n->seg_from[b->seg], bt = n->seg_to[b->seg];
  uint32_t node = at == bf || at == bt ? at : af == bf || af == bt ? af : DL_NET_NONE;
  if (node == DL_NET_NONE) { /* a short segment in between: the chord */
    double ax, ay, bx, by;
    dl_match_seg_point(n, a->seg, a->off, &ax, &ay, NULL, NULL);
    dl_match_seg_point(n, b->seg, b->off, &bx, &by, NULL, NULL);
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, u = 0;
    if (l2 > 0) u = fmax(0, fmin(1, ((x - ax) * dx + (y - ay) * dy) / l2));
    return hypot(ax + u * dx - x, ay + u * dy - y);
  }
  double ea = node == at ? n->seg_len[a->seg] : 0, eb = node == bf ? 0 : n->seg_len[b->seg];
  return fmin(seg_part_dist(n, a->seg, a->off, ea, x, y), seg_part_dist(n, b->seg, eb, b->off, x, y));
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_match_truth NET TRUTH_POINTS.csv MATCH.csv [DUMP.csv]\n");
    return 2;
  }
  dl_net n;
  dl_netfile *h;
  dl_err e = {0};
  if (dl_network_open(argv[1], &n, &h, &e)) {
    fprintf(stderr, "bench_match_truth: %s\n", e.msg);
    return 1;
  }
  FILE *ft = fopen(argv[2], "r"), *fm = fopen(argv[3], "r");
  if (!ft || !fm) {
    fprintf(stderr, "bench_match_truth: cannot open the truth or the match file\n");
    return 1;
  }
  size_t cap = 4096, nr = 0;
  row *r = malloc(cap * sizeof *r);
  char line[1024], *f[16];
  if (!fgets(line, sizeof line, ft)) {
    fprintf(stderr, "bench_match_truth: %s is empty\n", argv[2]);
    return 1;
  }
  while (r && fgets(line, sizeof line, ft)) {
    if (split(line, f, 16) < 3) continue;
    if (nr == cap) {
      cap *= 2;
      row *t = realloc(r, cap * sizeof *r);
      if (!t) return 1;
      r = t;
    }
    row *p = &r[nr++];
    size_t tl = strlen(f[0]) < sizeof p->time - 1 ? strlen(f[0]) : sizeof p->time - 1;
    memcpy(p->time, f[0], tl), p->time[tl] = 0;
    p->seg = (uint32_t)strtoul(f[1], NULL, 10), p->off = strtod(f[2], NULL);
    if (p->seg >= n.n_segs) {
      fprintf(stderr, "bench_match_truth: %s: segment %s is not in the network\n", argv[2], f[1]);
      return 1;
    }
    p->status = -1, p->mseg = DL_NET_NONE;
  }
  if (!r) return 1;
  static const char *const st[] = {"matched", "interpolated", "outlier", "unmatched"};
  size_t k = 0;
  if (!fgets(line, sizeof line, fm)) {
    fprintf(stderr, "bench_match_truth: %s is empty\n", argv[3]);
    return 1;
  }
  while (fgets(line, sizeof line, fm)) {
    if (split(line, f, 16) < 9) continue;
    while (k < nr && strcmp(r[k].time, f[0]) < 0) k++;
    if (k == nr || strcmp(r[k].time, f[0])) continue;
    row *p = &r[k];
    p->lat = strtod(f[1], NULL), p->lon = strtod(f[2], NULL);
    p->mseg = *f[3] ? (uint32_t)strtoul(f[3], NULL, 10) : DL_NET_NONE;
    p->moff = *f[4] ? strtod(f[4], NULL) : NAN;
    p->status = 3;
    for (int s = 0; s < 4; s++)
      if (!strcmp(f[8], st[s])) p->status = s;
  }
  FILE *fd = argc > 4 ? fopen(argv[4], "w") : NULL;
  if (fd) fprintf(fd, "time_utc,seg,off,mseg,moff,interior,status,d_pos,d_traj,adj,ang,ow,mow,cls,mcls,d_node\n");
  size_t inner = 0, inner_ok = 0, all_ok = 0, near = 0;
  for (size_t i = 0; i < nr; i++) {
    const row *p = &r[i];
    int in = i > 0 && i + 1 < nr && r[i - 1].seg == p->seg && r[i + 1].seg == p->seg;
    int ok = p->mseg == p->seg;
    inner += in, inner_ok += in && ok, all_ok += ok;
    double dp = INFINITY, dt = INFINITY;
    if (p->mseg != DL_NET_NONE && p->mseg < n.n_segs && (p->status == 0 || p->status == 1)) {
      double mx, my, tx, ty;
      dl_match_seg_point(&n, p->mseg, p->moff, &mx, &my, NULL, NULL);
      dl_match_seg_point(&n, p->seg, p->off, &tx, &ty, NULL, NULL);
      dp = hypot(mx - tx, my - ty);
      size_t lo = i > WIN ? i - WIN : 0, hi = i + WIN < nr ? i + WIN : nr - 1;
      dt = dp;
      for (size_t j = lo; j < hi; j++) {
        double d = step_dist(&n, &r[j], &r[j + 1], mx, my);
        if (d < dt) dt = d;
      }
    }
    near += dt <= 5.0;
    if (fd) {
      /* relation of the matched segment to the true one (for classifying errors) */
      int adj = 0, ow = n.seg_oneway[p->seg], mow = -1, mcls = -1;
      double ang = NAN, dnode = fmin(p->off, n.seg_len[p->seg] - p->off);
      if (p->mseg != DL_NET_NONE && p->mseg < n.n_segs) {
        uint32_t m = p->mseg;
        adj = n.seg_from[m] == n.seg_from[p->seg] || n.seg_from[m] == n.seg_to[p->seg] ||
              n.seg_to[m] == n.seg_from[p->seg] || n.seg_to[m] == n.seg_to[p->seg];
        mow = n.seg_oneway[m], mcls = n.seg_class[m];
        double ax, ay, bx, by, cx, cy, dx, dy;
        dl_match_seg_point(&n, p->seg, p->off - 2, &ax, &ay, NULL, NULL);
        dl_match_seg_point(&n, p->seg, p->off + 2, &bx, &by, NULL, NULL);
        dl_match_seg_point(&n, m, p->moff - 2, &cx, &cy, NULL, NULL);
        dl_match_seg_point(&n, m, p->moff + 2, &dx, &dy, NULL, NULL);
        double h1 = atan2(bx - ax, by - ay), h2 = atan2(dx - cx, dy - cy);
        ang = fabs(remainder(h1 - h2, 2 * M_PI)) * 180 / M_PI;
      }
      fprintf(fd, "%s,%u,%.2f,%d,%.2f,%d,%d,%.2f,%.2f,%d,%.0f,%d,%d,%d,%d,%.1f\n", p->time, p->seg, p->off,
              p->mseg == DL_NET_NONE ? -1 : (int)p->mseg, p->moff, in, p->status, dp, dt, adj, ang, ow, mow,
              n.seg_class[p->seg], mcls, dnode);
    }
  }
  printf("%.2f %% of %zu interior fixes on the true segment (%.2f %% of all), %.2f %% of all within 5 m of the true "
         "trajectory\n",
         inner ? 100.0 * inner_ok / inner : 0.0, inner, nr ? 100.0 * all_ok / nr : 0.0,
         nr ? 100.0 * near / nr : 0.0);
  if (fd) fclose(fd);
  fclose(ft), fclose(fm), free(r);
  dl_network_close(h);
  return 0;
}
