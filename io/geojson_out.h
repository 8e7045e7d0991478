/* geojson_out.h: run segments as an RFC 7946 GeoJSON FeatureCollection
 * (LineString, WGS84 lon/lat) for QGIS and web maps. */
#ifndef DL_GEOJSON_OUT_H
#define DL_GEOJSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

typedef struct dl_geo_segment {
  const double *lat, *lon;  /* nv >= 2 vertices, WGS84 degrees */
  size_t nv;
  int32_t segment;
  int64_t osm_way;
  const char *road, *township; /* UTF-8; township "" when outside */
  double dust_load;         /* g/m2; NAN is written as null */
  const char *grade;        /* "" is written as null */
  double covered_m;
} dl_geo_segment;

/* Writes the collection atomically (DL_EEXIST without force when path
 * exists). Properties: segment, osm_way, road, township, dust_load, grade,
 * covered_m. */
int dl_geojson_write_segments(const char *path, const dl_geo_segment *s, size_t n, int force,
                              dl_err *e);

#endif
