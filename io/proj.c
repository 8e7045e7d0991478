/* proj.c: WGS84 <-> UTM with PROJ, on arrays. */
#include <math.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_netio.h"

struct dl_proj {
  PJ_CONTEXT *ctx;
  PJ *pj;
  int epsg;
};

int dl_utm_epsg(double lon, double lat) {
  int zone = (int)floor((lon + 180.0) / 6.0) + 1;
  if (zone < 1) zone = 1;
  if (zone > 60) zone = 60;
  return (lat >= 0 ? 32600 : 32700) + zone;
}

static void quiet_log(void *user, int level, const char *msg) { (void)user, (void)level, (void)msg; }

int dl_proj_create(int epsg, dl_proj **out, dl_err *e) {
  *out = NULL;
  dl_proj *p = calloc(1, sizeof *p);
  if (!p) return dl_errf(e, DL_ENOMEM, "projection: out of memory");
  p->epsg = epsg;
  p->ctx = proj_context_create();
  proj_log_level(p->ctx, PJ_LOG_NONE);
  int utm = (epsg > 32600 && epsg <= 32660) || (epsg > 32700 && epsg <= 32760);
  if (utm) {
    /* The operation PROJ picks for EPSG:4326 -> 326zz/327zz, in lon, lat
     * order, written out: the same numbers (tests compare), without needing
     * proj.db. proj_create opens proj.db even for a PROJ string: a search
     * path with no folder keeps its ~3 MB SQLite cache out of the process
     * (the peak memory of `network import`). */
    static const char *const none[] = {"/nonexistent/dustload-needs-no-proj-db"};
    proj_log_func(p->ctx, NULL, quiet_log);
    proj_context_set_search_paths(p->ctx, 1, none);
    char def[160];
    snprintf(def, sizeof def,
             "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=utm +zone=%d %s+ellps=WGS84",
             epsg % 100, epsg > 32700 ? "+south " : "");
    p->pj = proj_create(p->ctx, def);
  } else {
    char dst[32];
    snprintf(dst, sizeof dst, "EPSG:%d", epsg);
    PJ *raw = proj_create_crs_to_crs(p->ctx, "EPSG:4326", dst, NULL);
    if (raw) {
      p->pj = proj_normalize_for_visualization(p->ctx, raw); /* lon, lat order */
      proj_destroy(raw);
    }
  }
  if (!p->pj) {
    int err = proj_context_errno(p->ctx);
    dl_errf(e, DL_ELIB, "projection: PROJ cannot build WGS84 -> EPSG:%d (%s)", epsg,
            err ? proj_context_errno_string(p->ctx, err) : "unknown CRS");
    dl_proj_free(p);
    return DL_ELIB;
  }
  *out = p;
  return DL_OK;
}

void dl_proj_free(dl_proj *p) {
  if (!p) return;
  if (p->pj) proj_destroy(p->pj);
  if (p->ctx) proj_context_destroy(p->ctx);
  free(p);
}

void dl_proj_release_caches(void) { proj_cleanup(); }

static int run(dl_proj *p, PJ_DIRECTION dir, double *a, double *b, size_t n, dl_err *e) {
  if (n == 0) return DL_OK;
  proj_errno_reset(p->pj);
  size_t done = proj_trans_generic(p->pj, dir, a, sizeof *a, n, b, sizeof *b, n, NULL, 0, 0, NULL, 0, 0);
  if (done != n) return dl_errf(e, DL_ELIB, "projection: PROJ transformed %zu of %zu points", done, n);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(a[i]) || !isfinite(b[i]) || fabs(a[i]) > 1e20 || fabs(b[i]) > 1e20)
      return dl_errf(e, DL_EFORMAT, "projection: point %zu cannot be projected to EPSG:%d", i, p->epsg);
  return DL_OK;
}

int dl_proj_fwd(dl_proj *p, const double *lat, const double *lon, size_t n, double *x, double *y,
                dl_err *e) {
  if (x != lon) memcpy(x, lon, n * sizeof *x);
  if (y != lat) memcpy(y, lat, n * sizeof *y);
  return run(p, PJ_FWD, x, y, n, e);
}

int dl_proj_inv(dl_proj *p, const double *x, const double *y, size_t n, double *lat, double *lon,
                dl_err *e) {
  if (lon != x) memcpy(lon, x, n * sizeof *lon);
  if (lat != y) memcpy(lat, y, n * sizeof *lat);
  return run(p, PJ_INV, lon, lat, n, e);
}
