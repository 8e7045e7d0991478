/* geojson_out.c: segments as an RFC 7946 FeatureCollection. */
#include "geojson_out.h"

#include <math.h>
#include <stdio.h>

#include "dl_outfile.h"

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fputc('\\', f), fputc(*p, f);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v, const char *fmt) {
  if (isfinite(v))
    fprintf(f, fmt, v);
  else
    fputs("null", f);
}

int dl_geojson_write_segments(const char *path, const dl_geo_segment *s, size_t n, int force,
                              dl_err *e) {
  dl_outfile a;
  int rc = dl_outfile_open(&a, path, force, e);
  if (rc) return rc;
  FILE *f = a.f;
  fputs("{\"type\":\"FeatureCollection\",\"features\":[", f);
  for (size_t i = 0; i < n; i++) {
    const dl_geo_segment *g = &s[i];
    fprintf(f, "%s\n{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
            i ? "," : "");
    for (size_t v = 0; v < g->nv; v++) fprintf(f, "%s[%.7f,%.7f]", v ? "," : "", g->lon[v], g->lat[v]);
    fprintf(f, "]},\"properties\":{\"segment\":%d,\"osm_way\":%lld,\"road\":", (int)g->segment,
            (long long)g->osm_way);
    json_str(f, g->road);
    fputs(",\"township\":", f);
    if (g->township[0])
      json_str(f, g->township);
    else
      fputs("null", f);
    fputs(",\"dust_load\":", f);
    json_num(f, g->dust_load, "%.4f");
    fputs(",\"grade\":", f);
    if (g->grade[0])
      json_str(f, g->grade);
    else
      fputs("null", f);
    fputs(",\"covered_m\":", f);
    json_num(f, g->covered_m, "%.1f");
    fputs("}}", f);
  }
  fputs("\n]}\n", f);
  return dl_outfile_commit(&a, e);
}
