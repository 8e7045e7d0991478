/* dl_netio.h: the files and libraries behind the road network: OSM
 * (readosm, .osm and .osm.pbf), GeoJSON boundary polygons (jansson),
 * WGS84 <-> UTM projection (PROJ), and the sectioned, checksummed,
 * memory-mapped container the compiled network is stored in. */
#ifndef DL_NETIO_H
#define DL_NETIO_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

/* ---- OSM ----------------------------------------------------------- */
/* Nodes (file order) and ways with the tags the network needs, as offsets
 * into str (0 = tag absent). */
typedef struct dl_osm {
  size_t n_nodes, cap_nodes;
  int64_t *node_id;
  double *node_lat, *node_lon;
  size_t n_ways, cap_ways;
  int64_t *way_id;
  uint64_t *way_nd; /* [n_ways+1] */
  uint32_t *way_highway, *way_oneway, *way_junction, *way_name, *way_ref, *way_maxspeed;
  size_t n_refs, cap_refs;
  int64_t *nd_ref;
  size_t n_str, cap_str;
  char *str;
  uint64_t nodes_bad_coord; /* nodes without valid lat/lon (skipped) */
} dl_osm;

/* Reads path (.osm XML or .osm.pbf, chosen by suffix). On failure o is
 * empty and e names the file and the problem. */
int dl_osm_read(const char *path, dl_osm *o, dl_err *e);
void dl_osm_free(dl_osm *o);

/* ---- GeoJSON polygons ---------------------------------------------- */
/* Polygon and MultiPolygon features (holes kept as extra rings), WGS84 or
 * as read; name from property name_field (string or number). */
typedef struct dl_geopolys {
  size_t n_poly, n_ring, n_vtx;
  uint32_t *poly_ring; /* [n_poly+1] */
  uint32_t *ring_vtx;  /* [n_ring+1] */
  double *lon, *lat;
  char **name;
  size_t skipped;      /* features that are not (Multi)Polygons */
} dl_geopolys;

int dl_geojson_read_polys(const char *path, const char *name_field, dl_geopolys *g, dl_err *e);
void dl_geopolys_free(dl_geopolys *g);

/* ---- projection ------------------------------------------------------ */
typedef struct dl_proj dl_proj;
/* EPSG code of the WGS84 UTM zone holding (lon, lat): 326zz north, 327zz south. */
int dl_utm_epsg(double lon, double lat);
/* A WGS84 <-> EPSG:epsg transformation (one per thread). */
int dl_proj_create(int epsg, dl_proj **out, dl_err *e);
void dl_proj_free(dl_proj *p);
/* lat/lon degrees -> x/y metres, n points; fails on any point PROJ cannot project. */
int dl_proj_fwd(dl_proj *p, const double *lat, const double *lon, size_t n, double *x, double *y,
                dl_err *e);
int dl_proj_inv(dl_proj *p, const double *x, const double *y, size_t n, double *lat, double *lon,
                dl_err *e);
/* Frees PROJ's process-wide caches (its proj.db connection: ~3 MB, kept
 * after every context is gone). Only when no dl_proj or other PROJ object
 * is alive anywhere in the process; a later dl_proj_create still works. */
void dl_proj_release_caches(void);

/* ---- sectioned file -------------------------------------------------- */
/* Layout: 64-byte header (magic, version, byte-order mark, section count,
 * file size, CRC32 of header + table), a table of named sections
 * (name, element size, count, offset, CRC32 of the data), then each
 * section's bytes at a 64-byte aligned offset. Native little-endian. */
typedef struct dl_section {
  const char *name; /* up to 15 bytes */
  uint32_t elem;
  uint64_t count;
  const void *data;
} dl_section;

/* Writes atomically (temp file in the same folder, fsync, rename). With
 * force 0 an existing path is never replaced: when it already holds exactly
 * these bytes nothing is written and *unchanged (may be NULL) is set to 1;
 * otherwise DL_EEXIST. */
int dl_secfile_write(const char *path, const char magic[8], uint32_t version, const dl_section *sec,
                     size_t n, int force, int *unchanged, dl_err *e);

/* The same file written section by section, so that the caller never holds
 * all of it: open the temp file, add the sections in file order (each is
 * written and checksummed as it comes; data NULL adds zeros to fill later
 * with dl_secw_fill), then commit (header and table, fsync, and the rename
 * or no-op rules of dl_secfile_write). Commit and abort free w; on any
 * failure the temp file is removed and the path left as it was. */
typedef struct dl_secw dl_secw;
int dl_secw_open(const char *path, const char magic[8], uint32_t version, size_t nsec, dl_secw **out,
                 dl_err *e);
int dl_secw_add(dl_secw *w, const char *name, uint32_t elem, uint64_t count, const void *data, dl_err *e);
/* Rewrites the data of section i (added before) with as many bytes. */
int dl_secw_fill(dl_secw *w, size_t i, const void *data, dl_err *e);
int dl_secw_commit(dl_secw *w, int force, int *unchanged, dl_err *e);
void dl_secw_abort(dl_secw *w);

typedef struct dl_secfile dl_secfile;
/* Maps path read-only and validates header, table, bounds, alignment and
 * every CRC. Any mismatch is DL_EFORMAT with a message naming the file. */
int dl_secfile_open(const char *path, const char magic[8], uint32_t version, dl_secfile **out,
                    dl_err *e);
/* Data of section name, or NULL when absent or when its element size is
 * not elem; *count is set. */
const void *dl_secfile_get(const dl_secfile *f, const char *name, uint32_t elem, uint64_t *count);
uint64_t dl_secfile_size(const dl_secfile *f);
void dl_secfile_close(dl_secfile *f);

#endif
