/* geojson.c: reads Polygon and MultiPolygon features (with holes) and a
 * name property from a GeoJSON file with jansson. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_netio.h"

typedef struct acc {
  dl_geopolys *g;
  size_t cap_poly, cap_ring, cap_vtx;
} acc;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* Adds one ring ([[lon,lat],...]) to the current polygon. */
static int add_ring(acc *a, json_t *ring, const char *path, size_t feat, dl_err *e) {
  dl_geopolys *g = a->g;
  if (!json_is_array(ring))
    return dl_errf(e, DL_EFORMAT, "%s: feature %zu: a ring is not an array of positions", path, feat);
  size_t n = json_array_size(ring);
  if (n < 3) return dl_errf(e, DL_EFORMAT, "%s: feature %zu: ring of %zu positions (need at least 3)", path, feat, n);
  size_t c1 = a->cap_vtx;
  if (grow((void **)&g->lon, &c1, g->n_vtx + n, 8) || grow((void **)&g->lat, &a->cap_vtx, g->n_vtx + n, 8) ||
      grow((void **)&g->ring_vtx, &a->cap_ring, g->n_ring + 2, 4))
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++) {
    json_t *p = json_array_get(ring, i);
    json_t *x = json_array_get(p, 0), *y = json_array_get(p, 1);
    if (!json_is_number(x) || !json_is_number(y))
      return dl_errf(e, DL_EFORMAT, "%s: feature %zu: position %zu is not [lon, lat]", path, feat, i);
    double lo = json_number_value(x), la = json_number_value(y);
    if (!(lo >= -180 && lo <= 180 && la >= -90 && la <= 90))
      return dl_errf(e, DL_EFORMAT, "%s: feature %zu: position %zu (%g, %g) is not a lon/lat in degrees", path,
                     feat, i, lo, la);
    g->lon[g->n_vtx + i] = lo;
    g->lat[g->n_vtx + i] = la;
  }
  g->n_vtx += n;
  g->ring_vtx[++g->n_ring] = (uint32_t)g->n_vtx;
  return DL_OK;
}

static int add_polygon_rings(acc *a, json_t *rings, const char *path, size_t feat, dl_err *e) {
  if (!json_is_array(rings) || json_array_size(rings) == 0)
    return dl_errf(e, DL_EFORMAT, "%s: feature %zu: polygon without rings", path, feat);
  for (size_t r = 0; r < json_array_size(rings); r++) {
    int rc = add_ring(a, json_array_get(rings, r), path, feat, e);
    if (rc) return rc;
  }
  return DL_OK;
}

static void list_props(json_t *props, char *buf, size_t len) {
  const char *k;
  json_t *v;
  size_t used = 0;
  buf[0] = 0;
  json_object_foreach(props, k, v) {
    int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", k);
    if (w < 0 || (size_t)w >= len - used) break;
    used += (size_t)w;
  }
}

int dl_geojson_read_polys(const char *path, const char *name_field, dl_geopolys *g, dl_err *e) {
  memset(g, 0, sizeof *g);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root) {
    FILE *f = fopen(path, "rb");
    if (!f) return dl_errf(e, DL_ENOINPUT, "%s: cannot open GeoJSON file", path);
    fclose(f);
    return dl_errf(e, DL_EFORMAT, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
  }
  acc a = {g, 0, 0, 0};
  int rc = DL_OK;
  json_t *feats = json_object_get(root, "features");
  const char *type = json_string_value(json_object_get(root, "type"));
  size_t nf = 1;
  if (feats && json_is_array(feats)) nf = json_array_size(feats);
  else if (!type || strcmp(type, "Feature")) {
    rc = dl_errf(e, DL_EFORMAT, "%s: expected a FeatureCollection or a Feature, got type '%s'", path,
                 type ? type : "(none)");
    goto done;
  }
  if (grow((void **)&g->poly_ring, &a.cap_poly, nf + 1, 4) || grow((void **)&g->ring_vtx, &a.cap_ring, 1, 4) ||
      !(g->name = calloc(nf + 1, sizeof *g->name))) {
    rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  g->poly_ring[0] = 0;
  g->ring_vtx[0] = 0;
  for (size_t f = 0; f < nf; f++) {
    json_t *ft = feats ? json_array_get(feats, f) : root;
    json_t *geom = json_object_get(ft, "geometry");
    const char *gt = json_string_value(json_object_get(geom, "type"));
    json_t *coords = json_object_get(geom, "coordinates");
    if (!gt || (strcmp(gt, "Polygon") && strcmp(gt, "MultiPolygon"))) {
      g->skipped++;
      continue;
    }
    json_t *props = json_object_get(ft, "properties");
    json_t *nv = json_object_get(props, name_field);
    char nbuf[64];
    const char *nm = json_string_value(nv);
    if (!nm && json_is_integer(nv)) snprintf(nbuf, sizeof nbuf, "%lld", (long long)json_integer_value(nv)), nm = nbuf;
    else if (!nm && json_is_real(nv)) snprintf(nbuf, sizeof nbuf, "%g", json_real_value(nv)), nm = nbuf;
    if (!nm) {
      char have[512];
      list_props(props, have, sizeof have);
      rc = dl_errf(e, DL_EFORMAT, "%s: feature %zu has no string or number property '%s' (--name-field); it has: %s",
                   path, f, name_field, have[0] ? have : "no properties");
      goto done;
    }
    if (!strcmp(gt, "Polygon")) rc = add_polygon_rings(&a, coords, path, f, e);
    else if (!json_is_array(coords) || json_array_size(coords) == 0)
      rc = dl_errf(e, DL_EFORMAT, "%s: feature %zu: MultiPolygon without polygons", path, f);
    else
      for (size_t p = 0; p < json_array_size(coords) && rc == DL_OK; p++)
        rc = add_polygon_rings(&a, json_array_get(coords, p), path, f, e);
    if (rc) goto done;
    if (!(g->name[g->n_poly] = strdup(nm))) {
      rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
      goto done;
    }
    g->poly_ring[++g->n_poly] = (uint32_t)g->n_ring;
  }
  if (g->n_poly == 0) rc = dl_errf(e, DL_ENODATA, "%s: no Polygon or MultiPolygon feature", path);
done:
  json_decref(root);
  if (rc) dl_geopolys_free(g);
  return rc;
}

void dl_geopolys_free(dl_geopolys *g) {
  if (!g) return;
  if (g->name)
    for (size_t i = 0; i < g->n_poly + 1 && g->name; i++) free(g->name[i]);
  free(g->name), free(g->poly_ring), free(g->ring_vtx), free(g->lon), free(g->lat);
  memset(g, 0, sizeof *g);
}
