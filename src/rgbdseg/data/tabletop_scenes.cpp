// The `tabletop` style of synthetic scenes: sim-to-real data for class-agnostic
// unseen-object instance segmentation (see synthetic_scenes.h for the outline).
//
// Why these choices: UOIS-Net-3D (Xie et al. 2021) showed that non-photorealistic
// synthetic RGB plus synthetic depth transfers to real tabletop frames when the
// depth looks like a real sensor's and the colour is varied enough that the
// network cannot rely on it. So the colour side is wide rather than realistic
// (many material families, lights, camera colour effects), the geometry covers
// the object families of real tabletops (COTS: books, bottles, mugs, food,
// footwear, headgear, souvenirs), and the depth side imitates the two sensor
// families users have: active stereo (occlusion shadow beside objects, noise
// growing with z^2 and spatially correlated, holes on dark and shiny surfaces,
// flying pixels, small misregistration to colour) and structured light (same
// shadow, coarser disparity steps).
//
// Geometry: every object is one or more primitives (box, capped cylinder,
// sphere, bowl shell, hollow cup) with a full rotation, ray-cast per pixel; the
// first boundary crossing along a ray that starts outside every solid is where
// it enters the solid, which is all a renderer needs. Materials are solid
// textures evaluated at the hit point in the object's frame, so they move with
// the object. Cast shadows come from one shadow ray per pixel.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "rgbdseg/core/error.h"
#include "rgbdseg/data/scene_random.h"
#include "rgbdseg/data/synthetic_scenes.h"

namespace rgbdseg {

namespace {

using scene::cross;
using scene::dot;
using scene::normalized;
using scene::Rng;
using scene::Vec3;

using Colour = std::array<double, 3>;

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double length(const Vec3& v) { return std::sqrt(dot(v, v)); }
double fract(double x) { return x - std::floor(x); }
double smooth(double t) { return t * t * (3 - 2 * t); }
Colour mix(const Colour& a, const Colour& b, double t) {
  return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// 3x3 rotation, row-major; columns are the local axes in world coordinates.
struct Mat3 {
  double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  Vec3 operator*(const Vec3& v) const {
    return {m[0][0] * v.x + m[0][1] * v.y + m[0][2] * v.z, m[1][0] * v.x + m[1][1] * v.y + m[1][2] * v.z,
            m[2][0] * v.x + m[2][1] * v.y + m[2][2] * v.z};
  }
  Vec3 transposed_times(const Vec3& v) const {
    return {m[0][0] * v.x + m[1][0] * v.y + m[2][0] * v.z, m[0][1] * v.x + m[1][1] * v.y + m[2][1] * v.z,
            m[0][2] * v.x + m[1][2] * v.y + m[2][2] * v.z};
  }
  Mat3 operator*(const Mat3& o) const {
    Mat3 r;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) r.m[i][j] = m[i][0] * o.m[0][j] + m[i][1] * o.m[1][j] + m[i][2] * o.m[2][j];
    return r;
  }
};
Mat3 rotation_y(double a) {
  Mat3 r;
  r.m[0][0] = std::cos(a), r.m[0][2] = std::sin(a), r.m[2][0] = -std::sin(a), r.m[2][2] = std::cos(a);
  return r;
}
Mat3 rotation_x(double a) {
  Mat3 r;
  r.m[1][1] = std::cos(a), r.m[1][2] = -std::sin(a), r.m[2][1] = std::sin(a), r.m[2][2] = std::cos(a);
  return r;
}

// ---------------------------------------------------------------- materials

// Value noise on the integer lattice, hashed: deterministic and seedable.
double lattice(int64_t x, int64_t y, int64_t z, uint64_t seed) {
  uint64_t h = seed ^ (static_cast<uint64_t>(x) * 0x9e3779b97f4a7c15ULL) ^ (static_cast<uint64_t>(y) * 0xc2b2ae3d27d4eb4fULL) ^
               (static_cast<uint64_t>(z) * 0x165667b19e3779f9ULL);
  h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 29)) * 0x94d049bb133111ebULL;
  return static_cast<double>((h ^ (h >> 32)) >> 11) * 0x1.0p-53;
}
double value_noise(const Vec3& p, uint64_t seed) {
  const double fx = std::floor(p.x), fy = std::floor(p.y), fz = std::floor(p.z);
  const auto ix = static_cast<int64_t>(fx), iy = static_cast<int64_t>(fy), iz = static_cast<int64_t>(fz);
  const double tx = smooth(p.x - fx), ty = smooth(p.y - fy), tz = smooth(p.z - fz);
  double v[2][2];
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const double lo = lattice(ix, iy + a, iz + b, seed), hi = lattice(ix + 1, iy + a, iz + b, seed);
      v[a][b] = lo + (hi - lo) * tx;
    }
  const double y0 = v[0][0] + (v[1][0] - v[0][0]) * ty, y1 = v[0][1] + (v[1][1] - v[0][1]) * ty;
  return y0 + (y1 - y0) * tz;
}
double fbm(const Vec3& p, uint64_t seed) {  // three octaves, in [0, 1]
  return (value_noise(p, seed) * 4 + value_noise(p * 2.03, seed + 1) * 2 + value_noise(p * 4.01, seed + 2)) / 7.0;
}

enum class Pattern { Plain, Noise, Stripes, Checks, Wood, Cloth, Labels, Blotches, kCount };

struct Material {
  Pattern pattern = Pattern::Plain;
  Colour c0{}, c1{}, c2{};
  double frequency = 20;  // per metre
  Vec3 direction{1, 0, 0};
  uint64_t seed = 0;
  double specular = 0;    // highlight strength
  double shininess = 20;
  bool absorbs_ir = false;  // dark or shiny to the depth sensor: holes in depth

  Colour albedo(const Vec3& p) const {
    switch (pattern) {
      case Pattern::Plain:
        return mix(c0, c1, 0.15 * value_noise(p * frequency, seed));
      case Pattern::Noise:
        return mix(c0, c1, fbm(p * frequency, seed));
      case Pattern::Stripes: {
        const double s = fract(dot(p, direction) * frequency);
        return s < 0.5 ? c0 : (s < 0.8 ? c1 : c2);
      }
      case Pattern::Checks: {
        const auto k = static_cast<int64_t>(std::floor(p.x * frequency) + std::floor(p.y * frequency) +
                                            std::floor(p.z * frequency));
        return (k & 1) ? c0 : c1;
      }
      case Pattern::Wood: {  // rings around `direction`, wobbled by noise
        const Vec3 radial = p - direction * dot(p, direction);
        const double ring = fract(length(radial) * frequency + 0.6 * fbm(p * (frequency * 0.3), seed));
        return mix(c0, c1, smooth(std::min(1.0, ring * 1.6)));
      }
      case Pattern::Cloth: {  // a fine weave with a coarse mottle
        const double w = std::sin(p.x * frequency * 6) * std::sin((p.y + p.z) * frequency * 6);
        return mix(mix(c0, c1, 0.5 + 0.5 * w), c2, 0.4 * fbm(p * frequency, seed));
      }
      case Pattern::Labels: {  // printed covers and packaging: blocks of text and pictures
        const double cell = 1.0 / frequency;
        const auto gx = static_cast<int64_t>(std::floor(p.x / cell)), gy = static_cast<int64_t>(std::floor(p.y / (cell * 0.4))),
                   gz = static_cast<int64_t>(std::floor(p.z / cell));
        const double r = lattice(gx, gy, gz, seed);
        if (r < 0.55) return c0;
        if (r < 0.85) return mix(c1, c0, 0.3 * value_noise(p * (frequency * 8), seed + 3));
        return c2;
      }
      case Pattern::Blotches: {
        const double n = fbm(p * frequency, seed);
        return n < 0.42 ? c0 : (n < 0.58 ? c1 : c2);
      }
      case Pattern::kCount:
        break;
    }
    return c0;
  }
};

Colour random_colour(Rng& rng) {
  // Mostly muted colours as real objects have, some saturated, some near grey.
  const double h = rng.uniform(0, 6), s = rng.chance(0.3) ? rng.uniform(0.0, 0.15) : rng.uniform(0.2, 0.95);
  const double v = rng.uniform(0.08, 0.95);
  const double c = v * s, x = c * (1 - std::fabs(std::fmod(h, 2.0) - 1)), m = v - c;
  Colour rgb;
  switch (static_cast<int>(h)) {
    case 0: rgb = {c, x, 0}; break;
    case 1: rgb = {x, c, 0}; break;
    case 2: rgb = {0, c, x}; break;
    case 3: rgb = {0, x, c}; break;
    case 4: rgb = {x, 0, c}; break;
    default: rgb = {c, 0, x}; break;
  }
  return {rgb[0] + m, rgb[1] + m, rgb[2] + m};
}

Material random_material(Rng& rng, double scale) {
  Material m;
  m.pattern = static_cast<Pattern>(rng.integer(0, static_cast<int>(Pattern::kCount) - 1));
  m.c0 = random_colour(rng);
  m.c1 = rng.chance(0.5) ? random_colour(rng) : mix(m.c0, Colour{rng.uniform(), rng.uniform(), rng.uniform()}, 0.4);
  m.c2 = random_colour(rng);
  m.frequency = rng.uniform(4, 60) / scale;
  m.direction = normalized({rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)});
  m.seed = rng.next();
  m.specular = rng.chance(0.35) ? rng.uniform(0.1, 0.7) : 0.0;
  m.shininess = rng.uniform(8, 80);
  m.absorbs_ir = rng.chance(0.06);
  return m;
}

// ---------------------------------------------------------------- geometry

enum class Kind { Box, Cylinder, Sphere, Bowl, Cup };

// A primitive in its local frame:
//   Box: centred at the origin, half extents a, b, c.
//   Cylinder: axis local y from 0 to b, radius a, both caps.
//   Sphere: centred at the origin, radius a.
//   Bowl: the lower half (y <= a) of a shell between radii a - c and a around (0, a, 0): rests on y = 0.
//   Cup: a hollow cylinder, radius a, height b, wall and bottom thickness c, open at the top.
struct Primitive {
  Kind kind = Kind::Box;
  double a = 0, b = 0, c = 0;
  Mat3 rotation;  // local -> world
  Vec3 position;  // local origin in world
  int material = 0;
  int instance = -1;  // -1: background (table, clutter)
  Vec3 bound_centre;  // bounding sphere, world
  double bound_radius = 0;
  int x0 = 0, x1 = -1, y0 = 0, y1 = -1;  // conservative pixel rectangle (primary rays)
};

Vec3 local_bound_centre(const Primitive& p) {
  switch (p.kind) {
    case Kind::Box: case Kind::Sphere: return {0, 0, 0};
    case Kind::Cylinder: case Kind::Cup: return {0, p.b / 2, 0};
    case Kind::Bowl: return {0, p.a, 0};
  }
  return {};
}
double bound_radius(const Primitive& p) {
  switch (p.kind) {
    case Kind::Box: return std::sqrt(p.a * p.a + p.b * p.b + p.c * p.c);
    case Kind::Sphere: case Kind::Bowl: return p.a;
    case Kind::Cylinder: case Kind::Cup: return std::hypot(p.a, p.b / 2);
  }
  return 0;
}
void finish_bounds(Primitive& p) {
  p.bound_centre = p.position + p.rotation * local_bound_centre(p);
  p.bound_radius = bound_radius(p) * 1.001 + 1e-6;
}
// Lowest world y of a primitive (to rest it on the table).
double lowest_y(const Primitive& p) {
  const double (&m)[3][3] = p.rotation.m;
  switch (p.kind) {
    case Kind::Box:
      return p.position.y - std::fabs(m[1][0]) * p.a - std::fabs(m[1][1]) * p.b - std::fabs(m[1][2]) * p.c;
    case Kind::Sphere: return p.position.y - p.a;
    case Kind::Bowl: return p.bound_centre.y - p.a;
    case Kind::Cylinder: case Kind::Cup: {
      const double uy = m[1][1];  // the axis' vertical component
      const double ends = std::min(p.position.y, p.position.y + uy * p.b);
      return ends - p.a * std::sqrt(std::max(0.0, 1 - uy * uy));
    }
  }
  return 0;
}
double highest_y(const Primitive& p) { return p.bound_centre.y + p.bound_radius; }

struct Hit {
  double t = INFINITY;
  Vec3 normal;  // world, not yet facing the camera
  Vec3 local;   // hit point in the primitive's frame (texture coordinates)
  int primitive = -1;
};

constexpr double kEps = 1e-7;

// Candidate boundary crossings in the local frame; keeps the nearest beyond kEps.
struct Crossing {
  double t = INFINITY;
  Vec3 normal;
  void offer(double cand, const Vec3& n) {
    if (cand > kEps && cand < t) t = cand, normal = n;
  }
};

// Both roots of |o + t d - centre|^2 = r^2, kept when `keep(point)`.
template <class Keep>
void sphere_crossings(const Vec3& o, const Vec3& d, const Vec3& centre, double r, bool outward, Crossing& best, Keep keep) {
  const Vec3 oc = o - centre;
  const double a = dot(d, d), b = dot(oc, d), c = dot(oc, oc) - r * r, disc = b * b - a * c;
  if (disc < 0) return;
  const double s = std::sqrt(disc);
  for (const double t : {(-b - s) / a, (-b + s) / a}) {
    const Vec3 p = o + d * t;
    if (t > kEps && t < best.t && keep(p)) best.offer(t, (p - centre) * (outward ? 1.0 / r : -1.0 / r));
  }
}
// Both roots of x^2 + z^2 = r^2 with y in [y0, y1].
void tube_crossings(const Vec3& o, const Vec3& d, double r, double y0, double y1, bool outward, Crossing& best) {
  const double a = d.x * d.x + d.z * d.z, b = o.x * d.x + o.z * d.z, c = o.x * o.x + o.z * o.z - r * r;
  if (a < 1e-18) return;
  const double disc = b * b - a * c;
  if (disc < 0) return;
  const double s = std::sqrt(disc);
  for (const double t : {(-b - s) / a, (-b + s) / a}) {
    const Vec3 p = o + d * t;
    if (p.y >= y0 && p.y <= y1) best.offer(t, Vec3{p.x, 0, p.z} * (outward ? 1.0 / r : -1.0 / r));
  }
}
// The plane y = h within r_in <= radius <= r_out.
void disc_crossing(const Vec3& o, const Vec3& d, double h, double r_in, double r_out, Crossing& best) {
  if (std::fabs(d.y) < 1e-18) return;
  const double t = (h - o.y) / d.y;
  const Vec3 p = o + d * t;
  const double rr = p.x * p.x + p.z * p.z;
  if (rr <= r_out * r_out && rr >= r_in * r_in) best.offer(t, {0, 1, 0});
}

void intersect(const Primitive& prim, int index, const Vec3& origin, const Vec3& dir, Hit& hit) {
  // Bounding sphere first: most rays miss most primitives.
  const Vec3 oc = prim.bound_centre - origin;
  const double along = dot(oc, dir), dd = dot(dir, dir);
  if (dot(oc, oc) - along * along / dd > prim.bound_radius * prim.bound_radius) return;
  const Vec3 o = prim.rotation.transposed_times(origin - prim.position), d = prim.rotation.transposed_times(dir);
  Crossing best;
  best.t = hit.t;
  switch (prim.kind) {
    case Kind::Box: {
      const double half[3] = {prim.a, prim.b, prim.c}, org[3] = {o.x, o.y, o.z}, dir3[3] = {d.x, d.y, d.z};
      double t0 = -INFINITY, t1 = INFINITY;
      int axis = -1;
      for (int k = 0; k < 3; ++k) {
        if (std::fabs(dir3[k]) < 1e-18) {
          if (std::fabs(org[k]) > half[k]) return;
          continue;
        }
        double ta = (-half[k] - org[k]) / dir3[k], tb = (half[k] - org[k]) / dir3[k];
        if (ta > tb) std::swap(ta, tb);
        if (ta > t0) t0 = ta, axis = k;
        t1 = std::min(t1, tb);
      }
      if (t0 > t1 || axis < 0) return;
      Vec3 n;
      (axis == 0 ? n.x : axis == 1 ? n.y : n.z) = dir3[axis] > 0 ? -1 : 1;
      best.offer(t0, n);
      break;
    }
    case Kind::Sphere:
      sphere_crossings(o, d, {0, 0, 0}, prim.a, true, best, [](const Vec3&) { return true; });
      break;
    case Kind::Cylinder:
      tube_crossings(o, d, prim.a, 0, prim.b, true, best);
      disc_crossing(o, d, prim.b, 0, prim.a, best);
      disc_crossing(o, d, 0, 0, prim.a, best);
      break;
    case Kind::Bowl: {
      const Vec3 centre{0, prim.a, 0};
      auto lower = [&](const Vec3& p) { return p.y <= prim.a; };
      sphere_crossings(o, d, centre, prim.a, true, best, lower);
      sphere_crossings(o, d, centre, prim.a - prim.c, false, best, lower);
      disc_crossing(o, d, prim.a, prim.a - prim.c, prim.a, best);  // the rim
      break;
    }
    case Kind::Cup:
      tube_crossings(o, d, prim.a, 0, prim.b, true, best);
      tube_crossings(o, d, prim.a - prim.c, prim.c, prim.b, false, best);
      disc_crossing(o, d, prim.b, prim.a - prim.c, prim.a, best);  // the rim
      disc_crossing(o, d, prim.c, 0, prim.a - prim.c, best);       // the inside bottom
      disc_crossing(o, d, 0, 0, prim.a, best);                     // the outside bottom
      break;
  }
  if (best.t < hit.t) {
    hit.t = best.t;
    hit.normal = prim.rotation * best.normal;
    hit.local = o + d * best.t;
    hit.primitive = index;
  }
}

// ---------------------------------------------------------------- objects

struct Builder {
  std::vector<Primitive> parts;  // in the object's frame: base centre at the origin, y up

  Primitive& add(Kind kind, double a, double b, double c, const Vec3& position, const Mat3& rotation = {}) {
    Primitive p;
    p.kind = kind, p.a = a, p.b = b, p.c = c, p.position = position, p.rotation = rotation;
    parts.push_back(p);
    return parts.back();
  }
};

// One tabletop object in its own frame; returns the parts (materials are set later).
// Sizes are half extents or radii in metres, spanning what sits on real tables.
std::vector<Primitive> make_object(Rng& rng, bool& flat_top) {
  Builder o;
  flat_top = false;
  const int kind = rng.integer(0, 11);
  switch (kind) {
    case 0: case 1: {  // box: packaging, a book lying flat, a standing book
      const int sub = rng.integer(0, 2);
      double a = rng.uniform(0.02, 0.12), b = rng.uniform(0.015, 0.1), c = rng.uniform(0.02, 0.1);
      if (sub == 1) b = rng.uniform(0.006, 0.025), a = rng.uniform(0.05, 0.14), c = rng.uniform(0.04, 0.11);  // lying book
      if (sub == 2) a = rng.uniform(0.008, 0.03), b = rng.uniform(0.06, 0.13), c = rng.uniform(0.04, 0.1);   // standing book
      o.add(Kind::Box, a, b, c, {0, b, 0});
      flat_top = sub != 2;
      break;
    }
    case 2: {  // thin flat object: plate, tablet, folded cloth, paper stack
      if (rng.chance(0.5)) {
        o.add(Kind::Cylinder, rng.uniform(0.05, 0.13), rng.uniform(0.004, 0.02), 0, {0, 0, 0});
      } else {
        const double b = rng.uniform(0.003, 0.015);
        o.add(Kind::Box, rng.uniform(0.04, 0.15), b, rng.uniform(0.03, 0.11), {0, b, 0});
      }
      flat_top = true;
      break;
    }
    case 3: {  // can or jar
      o.add(Kind::Cylinder, rng.uniform(0.02, 0.06), rng.uniform(0.04, 0.18), 0, {0, 0, 0});
      flat_top = true;
      break;
    }
    case 4: {  // bottle: body, shoulder, neck, cap
      const double r = rng.uniform(0.02, 0.045), h = rng.uniform(0.1, 0.22), neck = rng.uniform(0.008, 0.016);
      o.add(Kind::Cylinder, r, h, 0, {0, 0, 0});
      o.add(Kind::Cylinder, (r + neck) / 2, 0.02, 0, {0, h, 0});
      const double nh = rng.uniform(0.03, 0.06);
      o.add(Kind::Cylinder, neck, nh, 0, {0, h + 0.02, 0});
      o.add(Kind::Cylinder, neck * 1.25, 0.015, 0, {0, h + 0.02 + nh, 0});
      break;
    }
    case 5: {  // mug or cup, with a handle most of the time
      const double r = rng.uniform(0.03, 0.055), h = rng.uniform(0.06, 0.13), wall = rng.uniform(0.003, 0.008);
      o.add(Kind::Cup, r, h, wall, {0, 0, 0});
      if (rng.chance(0.75)) {
        const double hh = h * rng.uniform(0.25, 0.4);
        o.add(Kind::Box, 0.02, hh, 0.006, {r + 0.012, h * 0.5, 0});
      }
      break;
    }
    case 6: {  // bowl
      const double r = rng.uniform(0.05, 0.12);
      o.add(Kind::Bowl, r, 0, rng.uniform(0.004, 0.01), {0, 0, 0});
      break;
    }
    case 7: {  // ball or fruit
      const double r = rng.uniform(0.02, 0.07);
      o.add(Kind::Sphere, r, 0, 0, {0, r, 0});
      break;
    }
    case 8: {  // lying can, bottle or tube
      const double r = rng.uniform(0.015, 0.05), h = rng.uniform(0.06, 0.22);
      o.add(Kind::Cylinder, r, h, 0, {0, r, -h / 2}, rotation_x(M_PI / 2));
      break;
    }
    case 9: {  // shoe or cap-like: a long low body with a raised back
      const double a = rng.uniform(0.04, 0.06), c = rng.uniform(0.1, 0.15), b = rng.uniform(0.02, 0.04);
      o.add(Kind::Box, a, b, c, {0, b, 0});
      const double r = rng.uniform(0.6, 1.0) * a;
      o.add(Kind::Cylinder, r, rng.uniform(0.04, 0.09), 0, {0, 0, -c + r});
      break;
    }
    case 10: {  // figurine or souvenir: a stack of primitives
      double y = 0;
      const int pieces = rng.integer(2, 3);
      double r = rng.uniform(0.025, 0.05);
      for (int k = 0; k < pieces; ++k) {
        const int shape = rng.integer(0, 2);
        if (shape == 0) {
          const double b = rng.uniform(0.015, 0.05);
          o.add(Kind::Box, r * 0.8, b, r * 0.8, {0, y + b, 0});
          y += 2 * b;
        } else if (shape == 1) {
          const double h = rng.uniform(0.02, 0.08);
          o.add(Kind::Cylinder, r, h, 0, {0, y, 0});
          y += h;
        } else {
          o.add(Kind::Sphere, r, 0, 0, {0, y + r * 0.9, 0});
          y += r * 1.8;
        }
        r *= rng.uniform(0.55, 0.95);
      }
      break;
    }
    default: {  // a box with something on it (one object): toolbox, lamp base
      const double a = rng.uniform(0.03, 0.09), b = rng.uniform(0.015, 0.06), c = rng.uniform(0.03, 0.09);
      o.add(Kind::Box, a, b, c, {0, b, 0});
      const double room = 0.9 * std::min(a, c);
      if (rng.chance(0.5)) {
        o.add(Kind::Cylinder, rng.uniform(0.4, 1.0) * room, rng.uniform(0.02, 0.1), 0, {0, 2 * b, 0});
      } else {
        const double bb = rng.uniform(0.01, 0.05);
        o.add(Kind::Box, rng.uniform(0.3, 0.7) * room, bb, rng.uniform(0.3, 0.7) * room, {0, 2 * b + bb, 0},
              rotation_y(rng.uniform(0, M_PI)));
      }
      break;
    }
  }
  // Real objects come in every size: scale the whole object.
  const double scale = rng.uniform(0.8, 1.6);
  for (auto& p : o.parts) p.a *= scale, p.b *= scale, p.c *= scale, p.position = p.position * scale;
  return o.parts;
}

// Places an object's parts in the world: `tilt` about a horizontal axis, then
// yaw, then translate so it rests at height `base_y` at (x, z).
void place(std::vector<Primitive>& parts, double yaw, double tilt, double tilt_axis, double x, double z, double base_y) {
  const Mat3 r = rotation_y(yaw) * rotation_y(tilt_axis) * rotation_x(tilt) * rotation_y(-tilt_axis);
  for (auto& p : parts) {
    p.position = r * p.position;
    p.rotation = r * p.rotation;
    finish_bounds(p);
  }
  double low = INFINITY;
  for (const auto& p : parts) low = std::min(low, lowest_y(p));
  const Vec3 shift{x, base_y - low, z};
  for (auto& p : parts) {
    p.position = p.position + shift;
    finish_bounds(p);
  }
}

// Horizontal footprint radius of placed parts about (x, z).
double footprint(const std::vector<Primitive>& parts, double x, double z) {
  double r = 0;
  for (const auto& p : parts) r = std::max(r, std::hypot(p.bound_centre.x - x, p.bound_centre.z - z) + p.bound_radius * 0.85);
  return r;
}

// ---------------------------------------------------------------- sensor

DepthSensorModel pick_sensor(DepthSensor sensor, Rng& rng) {
  DepthSensor s = sensor;
  if (s == DepthSensor::Mixed) {
    const double u = rng.uniform();
    s = u < 0.6 ? DepthSensor::RealSense : u < 0.9 ? DepthSensor::Kinect : DepthSensor::Perfect;
  }
  DepthSensorModel p;
  if (s == DepthSensor::Perfect) {
    p.perfect = true;
  } else if (s == DepthSensor::RealSense) {  // D415/D435: 55/50 mm baseline, 1/32 px subpixel steps
    p.focal_native = rng.uniform(420, 950);
    p.baseline = rng.chance(0.5) ? 0.05 : 0.055;
    p.subpixel = rng.uniform(0.05, 0.15);
    p.step = 1.0 / 32;
    p.correlated = rng.uniform(0.5, 0.9);
  } else {  // Kinect v1-like structured light: 75 mm baseline, 1/8 px disparity steps
    p.focal_native = 580;
    p.baseline = 0.075;
    p.subpixel = rng.uniform(0.07, 0.12);
    p.step = 1.0 / 8;
    p.correlated = rng.uniform(0.2, 0.5);
  }
  p.shadow_left = rng.chance(0.75);
  return p;
}

// Turns true depth into a sensor's: occlusion shadows, holes, noise, quantisation.
cv::Mat sense_depth(const cv::Mat& z_true, const cv::Mat& no_return, const cv::Mat& grazing, double fx,
                    const DepthSensorModel& sp, Rng& rng) {
  const int H = z_true.rows, W = z_true.cols;
  cv::Mat depth = z_true.clone();
  if (sp.perfect) {
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) depth.at<float>(y, x) = std::round(depth.at<float>(y, x) * 1000.0f) / 1000.0f;
    return depth;
  }
  // The occlusion shadow's width is a disparity in this image's pixels (our
  // focal length); noise and quantisation are in the sensor's native pixels.
  const double fb = fx * sp.baseline, native_fb = sp.focal_native * sp.baseline;
  cv::Mat valid(H, W, CV_8UC1, cv::Scalar(1));
  // Occlusion shadow: a point is unseen by the second view when a nearer point
  // on its row lands at or past its column there (scan from the far side).
  for (int y = 0; y < H; ++y) {
    double nearest = INFINITY;
    for (int k = 0; k < W; ++k) {
      const int x = sp.shadow_left ? W - 1 - k : k;
      const double z = z_true.at<float>(y, x);
      const double shifted = sp.shadow_left ? x - fb / z : -(x + fb / z);
      if (shifted > nearest + 0.5) valid.at<uint8_t>(y, x) = 0;
      nearest = std::min(nearest, shifted);
    }
  }
  // Small misregistration between depth and colour.
  int dx = 0, dy = 0;
  if (rng.chance(0.5)) dx = rng.integer(-1, 1), dy = rng.integer(-1, 1);
  if (!sp.misregistration) dx = dy = 0;
  // Spatially correlated noise: a coarse Gaussian field, smoothly upsampled.
  cv::Mat coarse(std::max(2, H / 12), std::max(2, W / 12), CV_32FC1), smooth_noise;
  for (int y = 0; y < coarse.rows; ++y)
    for (int x = 0; x < coarse.cols; ++x) coarse.at<float>(y, x) = static_cast<float>(rng.normal());
  cv::resize(coarse, smooth_noise, cv::Size(W, H), 0, 0, cv::INTER_CUBIC);
  // Dark and shiny surfaces lose their readings in patches, not single pixels.
  cv::Mat patches_coarse(std::max(2, H / 16), std::max(2, W / 16), CV_32FC1), patches;
  for (int y = 0; y < patches_coarse.rows; ++y)
    for (int x = 0; x < patches_coarse.cols; ++x) patches_coarse.at<float>(y, x) = static_cast<float>(rng.normal());
  cv::resize(patches_coarse, patches, cv::Size(W, H), 0, 0, cv::INTER_LINEAR);
  const float patch_threshold = static_cast<float>(rng.uniform(-0.8, 0.3));
  // Random speckle holes (low-texture or saturated patches).
  const int blobs = sp.speckles ? rng.integer(0, 6) : 0;
  for (int k = 0; k < blobs; ++k) {
    const cv::Point c(rng.integer(0, W - 1), rng.integer(0, H - 1));
    const cv::Size axes(rng.integer(1, std::max(2, W / 40)), rng.integer(1, std::max(2, H / 40)));
    cv::ellipse(valid, c, axes, rng.uniform(0, 180), 0, 360, cv::Scalar(0), -1);
  }
  cv::Mat out = cv::Mat::zeros(H, W, CV_32FC1);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      const int sy = std::clamp(y + dy, 0, H - 1), sx = std::clamp(x + dx, 0, W - 1);
      double z = z_true.at<float>(sy, sx);
      if (!valid.at<uint8_t>(sy, sx) || grazing.at<uint8_t>(sy, sx)) continue;
      if (no_return.at<uint8_t>(sy, sx) && patches.at<float>(sy, sx) > patch_threshold) continue;
      // Depth edges: lost or flying (a blend of both sides).
      if (sx > 0 && sx < W - 1 && sy > 0 && sy < H - 1) {
        const float n[4] = {z_true.at<float>(sy, sx - 1), z_true.at<float>(sy, sx + 1), z_true.at<float>(sy - 1, sx),
                            z_true.at<float>(sy + 1, sx)};
        float far = 0;  // the farthest neighbour across a jump of over 2 cm
        for (const float v : n) {
          if (std::fabs(v - static_cast<float>(z)) > 0.02f) far = std::max(far, v);
        }
        if (far > 0 && sp.edge_effects) {
          const double u = rng.uniform();
          if (u < 0.35) continue;
          if (u < 0.55) z = z + (far - z) * rng.uniform(0.2, 0.8);
        }
      }
      const double disparity_noise = sp.correlated * smooth_noise.at<float>(y, x) + (1 - sp.correlated) * rng.normal();
      // Noise and steps in disparity d = f b / z: in depth they grow with z^2.
      double d = native_fb / z + sp.subpixel * disparity_noise;
      d = std::round(d / sp.step) * sp.step;
      if (d <= 0) continue;
      out.at<float>(y, x) = static_cast<float>(std::round(native_fb / d * 1000.0) / 1000.0);
    }
  }
  return out;
}

}  // namespace

cv::Mat simulate_depth_sensor(const cv::Mat& true_depth, const cv::Mat& no_return, const cv::Mat& grazing, double fx,
                              const DepthSensorModel& model, uint64_t seed) {
  if (true_depth.type() != CV_32FC1 || no_return.type() != CV_8UC1 || grazing.type() != CV_8UC1 ||
      no_return.size() != true_depth.size() || grazing.size() != true_depth.size()) {
    throw Error("simulate_depth_sensor: need CV_32FC1 depth and CV_8UC1 masks of its size");
  }
  Rng rng(mix64(seed));
  return sense_depth(true_depth, no_return, grazing, fx, model, rng);
}

namespace {

// ---------------------------------------------------------------- camera

struct Camera {
  Vec3 eye, right, down, forward;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  Vec3 ray(double x, double y) const { return forward + right * ((x - cx) / fx) + down * ((y - cy) / fy); }
};

// Conservative pixel rectangle of a primitive's bounding sphere.
void screen_bounds(Primitive& p, const Camera& cam, int H, int W) {
  const Vec3 rel = p.bound_centre - cam.eye;
  const double X = dot(rel, cam.right), Y = dot(rel, cam.down), Z = dot(rel, cam.forward), R = p.bound_radius;
  if (Z - R < 0.02) {
    p.x0 = 0, p.x1 = W - 1, p.y0 = 0, p.y1 = H - 1;
    return;
  }
  const double scale = (Z + R) / (Z - R) * 1.05;
  const double u = cam.cx + cam.fx * X / Z, v = cam.cy + cam.fy * Y / Z;
  const double ru = cam.fx * R / (Z - R) * scale + std::fabs(cam.fx * X * R) / (Z * (Z - R)) + 2;
  const double rv = cam.fy * R / (Z - R) * scale + std::fabs(cam.fy * Y * R) / (Z * (Z - R)) + 2;
  p.x0 = static_cast<int>(std::max(0.0, std::floor(u - ru)));
  p.x1 = static_cast<int>(std::min(W - 1.0, std::ceil(u + ru)));
  p.y0 = static_cast<int>(std::max(0.0, std::floor(v - rv)));
  p.y1 = static_cast<int>(std::min(H - 1.0, std::ceil(v + rv)));
}

}  // namespace

SynthScene render_tabletop_scene(const SynthOptions& opt, int64_t index) {
  if (opt.height < 8 || opt.width < 8) throw Error("synthetic scenes: size must be at least 8x8");
  if (opt.min_objects < 1 || opt.max_objects < opt.min_objects) {
    throw Error("synthetic scenes: need 1 <= min_objects <= max_objects");
  }
  // A stream of its own, hashed: splitmix64 states that differ by its increment
  // would give scene i + 1 the draws of scene i shifted by one.
  Rng rng(mix64(mix64(opt.seed ^ 0x7ab1e70bULL) + static_cast<uint64_t>(index)));
  const int H = opt.height, W = opt.width;
  SynthScene scene;

  // Materials: table, floor, wall first.
  std::vector<Material> materials;
  materials.push_back(random_material(rng, 3.0));  // table
  materials.push_back(random_material(rng, 4.0));  // floor
  materials.push_back(random_material(rng, 4.0));  // wall
  for (int k = 0; k < 3; ++k) materials[static_cast<size_t>(k)].absorbs_ir = false;
  if (rng.chance(0.3)) materials[2] = materials[0];  // one cloth over table and wall, a photo backdrop
  const int table_material = 0, floor_material = 1, wall_material = 2;

  // A finite table (a slab whose top is y = 0), the floor below, a wall behind.
  const double table_x = rng.uniform(0.35, 1.0), table_near = -rng.uniform(0.25, 0.9), table_far = rng.uniform(0.35, 0.9);
  const double floor_y = -rng.uniform(0.6, 0.8), wall_z = table_far + (rng.chance(0.4) ? 0.0 : rng.uniform(0.1, 1.5));
  std::vector<Primitive> prims;
  {
    Primitive table;
    table.kind = Kind::Box;
    table.a = table_x, table.b = 0.02, table.c = (table_far - table_near) / 2;
    table.position = {0, -0.02, (table_far + table_near) / 2};
    table.material = table_material;
    finish_bounds(table);
    prims.push_back(table);
  }

  // Tabletop objects, each one instance, placed without overlapping footprints;
  // some touch a neighbour, some stand on another, some wear the table's material.
  struct Placed {
    double x, z, radius, top;
    bool flat_top;
    int material;
  };
  std::vector<Placed> placed;
  const int n = rng.integer(opt.min_objects, opt.max_objects);
  int instances = 0;
  for (int attempt = 0; attempt < n * 25 && instances < n; ++attempt) {
    bool flat_top = false;
    std::vector<Primitive> parts = make_object(rng, flat_top);
    const double yaw = rng.uniform(0, 2 * M_PI);
    const double tilt = rng.chance(0.15) ? rng.uniform(0.1, 0.5) : 0.0;  // leaning
    double x = rng.uniform(-0.3, 0.3), z = rng.uniform(-0.15, 0.4), base = 0;
    int support = -1, neighbour = -1;
    const double mode = rng.uniform();
    if (mode < 0.12 && !placed.empty()) {  // stacked on a flat-topped object
      support = rng.integer(0, static_cast<int>(placed.size()) - 1);
      const Placed& s = placed[static_cast<size_t>(support)];
      if (!s.flat_top) continue;
      x = s.x + rng.uniform(-0.3, 0.3) * s.radius;
      z = s.z + rng.uniform(-0.3, 0.3) * s.radius;
      base = s.top;
    }
    place(parts, yaw, support >= 0 ? 0.0 : tilt, rng.uniform(0, M_PI), x, z, base);
    double radius = footprint(parts, x, z);
    if (support < 0 && mode < 0.4 && !placed.empty()) {  // touching a neighbour
      neighbour = rng.integer(0, static_cast<int>(placed.size()) - 1);
      const Placed& other = placed[static_cast<size_t>(neighbour)];
      const double angle = rng.uniform(0, 2 * M_PI), gap = (radius + other.radius) * rng.uniform(0.75, 0.95);
      const double nx = other.x + gap * std::cos(angle), nz = other.z + gap * std::sin(angle);
      for (auto& p : parts) {
        p.position = p.position + Vec3{nx - x, 0, nz - z};
        finish_bounds(p);
      }
      x = nx, z = nz;
    }
    if (support >= 0 && radius > placed[static_cast<size_t>(support)].radius * 1.3) continue;
    // On the table, clear of the others (footprints are conservative, so a
    // touching neighbour may overlap them a little; rays see the nearest surface).
    if (std::fabs(x) + radius > table_x || z - radius < table_near || z + radius > table_far) continue;
    bool clear = true;
    for (size_t k = 0; k < placed.size(); ++k) {
      if (static_cast<int>(k) == support) continue;
      const double allowed = static_cast<int>(k) == neighbour ? 0.75 : 1.02;
      if (std::hypot(x - placed[k].x, z - placed[k].z) < (radius + placed[k].radius) * allowed) clear = false;
    }
    if (!clear) continue;
    int material;
    if (rng.chance(0.2)) {
      material = table_material;  // camouflage: only depth separates it from the table
    } else if (neighbour >= 0 && rng.chance(0.5)) {
      material = placed[static_cast<size_t>(neighbour)].material;  // same look as the one it touches
    } else {
      materials.push_back(random_material(rng, 1.0));
      material = static_cast<int>(materials.size()) - 1;
    }
    // Multi-part objects sometimes have parts of another colour (a cap, a handle).
    for (size_t k = 0; k < parts.size(); ++k) {
      parts[k].instance = instances;
      parts[k].material = material;
      if (k > 0 && rng.chance(0.3)) {
        materials.push_back(random_material(rng, 1.0));
        parts[k].material = static_cast<int>(materials.size()) - 1;
      }
    }
    double top = 0;
    for (const auto& p : parts) top = std::max(top, p.kind == Kind::Box ? p.position.y + p.b : highest_y(p));
    for (const auto& p : parts) prims.push_back(p);
    placed.push_back({x, z, radius, top, flat_top && tilt == 0.0, material});
    ++instances;
  }

  // Background clutter, never annotated: furniture-sized things on the floor
  // beside or behind the table and against the wall.
  if (opt.clutter) {
    const int clutter = rng.integer(0, 6);
    for (int k = 0; k < clutter; ++k) {
      bool flat_top = false;
      std::vector<Primitive> parts = make_object(rng, flat_top);
      const double scale = rng.uniform(1.5, 4.0);
      for (auto& p : parts) {
        p.a *= scale, p.b *= scale, p.position = p.position * scale;
        if (p.kind != Kind::Bowl && p.kind != Kind::Cup) p.c *= scale;
      }
      double x = rng.uniform(-2.0, 2.0), z = rng.uniform(table_near, wall_z);
      if (std::fabs(x) < table_x + 0.3 && z < table_far + 0.2) z = std::min(wall_z, table_far + rng.uniform(0.2, 1.0));
      place(parts, rng.uniform(0, 2 * M_PI), 0.0, 0.0, x, z, floor_y);
      materials.push_back(random_material(rng, scale));
      for (auto& p : parts) {
        p.material = static_cast<int>(materials.size()) - 1;
        prims.push_back(p);
      }
    }
  }
  // Camera: field of view of common RGB-D cameras, looking at the table from
  // any height and angle a person or a robot would, with some roll.
  Camera cam;
  const double hfov = rng.uniform(55, 75) * M_PI / 180;
  cam.fx = cam.fy = (W / 2.0) / std::tan(hfov / 2);
  cam.cx = (W - 1) / 2.0 + rng.uniform(-0.02, 0.02) * W;
  cam.cy = (H - 1) / 2.0 + rng.uniform(-0.02, 0.02) * H;
  // Aimed at the objects (their mean, or one of them): low side views as in
  // COTS and steep top-down views as from a robot's wrist.
  Vec3 target{rng.uniform(-0.1, 0.1), 0.0, rng.uniform(0.0, 0.15)};
  if (!placed.empty()) {
    if (rng.chance(0.7)) {
      Vec3 mean;
      for (const auto& p : placed) mean = mean + Vec3{p.x, 0, p.z} * (1.0 / static_cast<double>(placed.size()));
      target = mean;
    } else {
      const auto& p = placed[static_cast<size_t>(rng.integer(0, static_cast<int>(placed.size()) - 1))];
      target = {p.x, 0, p.z};
    }
    target = target + Vec3{rng.uniform(-0.08, 0.08), rng.uniform(0.0, 0.08), rng.uniform(-0.08, 0.08)};
  }
  const double distance = rng.uniform(0.55, 1.8), elevation = rng.uniform(8, 80) * M_PI / 180,
               azimuth = rng.uniform(-0.5, 0.5);
  cam.eye = target + Vec3{std::sin(azimuth) * std::cos(elevation), std::sin(elevation), -std::cos(azimuth) * std::cos(elevation)} *
                         distance;
  cam.forward = normalized(target - cam.eye);
  const Vec3 right0 = normalized(cross(cam.forward, Vec3{0, 1, 0}));
  const Vec3 down0 = cross(cam.forward, right0);
  const double roll = rng.uniform(-0.15, 0.15);
  cam.right = right0 * std::cos(roll) + down0 * std::sin(roll);
  cam.down = down0 * std::cos(roll) - right0 * std::sin(roll);
  scene.fx = cam.fx, scene.fy = cam.fy, scene.cx = cam.cx, scene.cy = cam.cy;

  for (auto& p : prims) screen_bounds(p, cam, H, W);

  // Light: a directional key light from above (cast shadows) plus ambient,
  // both tinted; camera colour effects come after shading.
  const Vec3 light = normalized({rng.uniform(-1, 1), rng.uniform(0.6, 2.0), rng.uniform(-1, 0.6)});
  const double ambient = rng.uniform(0.15, 0.5), key = rng.uniform(0.5, 1.1);
  const Colour tint{rng.uniform(0.85, 1.15), rng.uniform(0.9, 1.1), rng.uniform(0.85, 1.15)};
  const double exposure = rng.uniform(0.75, 1.3), gamma = rng.uniform(0.8, 1.25), pixel_noise = rng.uniform(0.003, 0.025);

  cv::Mat z_true(H, W, CV_32FC1), ids(H, W, CV_32SC1), no_return(H, W, CV_8UC1), grazing(H, W, CV_8UC1);
  cv::Mat colour(H, W, CV_32FC3);
  std::vector<int> candidates;
  candidates.reserve(prims.size());
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      const Vec3 d = cam.ray(x, y);  // unit camera-frame z: t is the depth
      Hit hit;
      for (size_t k = 0; k < prims.size(); ++k) {
        const Primitive& p = prims[k];
        if (x < p.x0 || x > p.x1 || y < p.y0 || y > p.y1) continue;
        intersect(p, static_cast<int>(k), cam.eye, d, hit);
      }
      int material;
      Vec3 texture_point;
      if (hit.primitive >= 0) {
        material = prims[static_cast<size_t>(hit.primitive)].material;
        texture_point = hit.local;
      } else {  // floor or wall
        const double t_floor = d.y < 0 ? (floor_y - cam.eye.y) / d.y : INFINITY;
        const double t_wall = d.z > 0 ? (wall_z - cam.eye.z) / d.z : INFINITY;
        if (t_floor < t_wall) {
          hit.t = t_floor, hit.normal = {0, 1, 0}, material = floor_material;
        } else if (std::isfinite(t_wall)) {
          hit.t = t_wall, hit.normal = {0, 0, -1}, material = wall_material;
        } else {  // looking away from everything: a far wall
          hit.t = 8.0, hit.normal = normalized(d) * -1.0, material = wall_material;
        }
        texture_point = cam.eye + d * hit.t;
      }
      Vec3 normal = hit.normal;
      if (dot(normal, d) > 0) normal = normal * -1.0;  // face the camera
      const Vec3 point = cam.eye + d * hit.t;
      // Cast shadow: anything between the point and the light.
      bool shadowed = false;
      const double lambert = dot(normal, light);
      if (lambert > 0) {
        Hit blocker;
        blocker.t = 50;
        const Vec3 start = point + normal * 1e-4;
        for (size_t k = 0; k < prims.size() && blocker.primitive < 0; ++k) intersect(prims[k], static_cast<int>(k), start, light, blocker);
        shadowed = blocker.primitive >= 0;
      }
      const Material& m = materials[static_cast<size_t>(material)];
      const Colour albedo = m.albedo(texture_point);
      const double diffuse = shadowed ? 0.0 : std::max(0.0, lambert) * key;
      const Vec3 view = normalized(d) * -1.0, half = normalized(light + view);
      const double highlight = shadowed || lambert <= 0 ? 0.0 : m.specular * std::pow(std::max(0.0, dot(normal, half)), m.shininess);
      cv::Vec3f& px = colour.at<cv::Vec3f>(y, x);
      for (int c = 0; c < 3; ++c) {
        px[c] = static_cast<float>((albedo[static_cast<size_t>(c)] * (ambient + diffuse) + highlight) * tint[static_cast<size_t>(c)]);
      }
      z_true.at<float>(y, x) = static_cast<float>(hit.t);
      ids.at<int>(y, x) = hit.primitive >= 0 ? prims[static_cast<size_t>(hit.primitive)].instance : -1;
      const double lum = 0.299 * albedo[0] + 0.587 * albedo[1] + 0.114 * albedo[2];
      no_return.at<uint8_t>(y, x) = (m.absorbs_ir || lum < 0.06 || highlight > 0.45) ? 1 : 0;
      grazing.at<uint8_t>(y, x) = std::fabs(dot(normal, normalized(d))) < 0.1 ? 1 : 0;
    }
  }

  // Camera colour effects: exposure, gamma, optional defocus, pixel noise.
  if (rng.chance(0.35)) cv::GaussianBlur(colour, colour, cv::Size(0, 0), rng.uniform(0.4, 1.2));
  scene.rgb.create(H, W, CV_8UC3);
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      const cv::Vec3f& px = colour.at<cv::Vec3f>(y, x);
      uint8_t* out = scene.rgb.ptr<uint8_t>(y) + 3 * x;
      for (int c = 0; c < 3; ++c) {
        const double v = std::pow(std::clamp(px[c] * exposure, 0.0, 1.0), gamma) + pixel_noise * rng.normal();
        out[c] = static_cast<uint8_t>(std::clamp(v * 255.0 + 0.5, 0.0, 255.0));
      }
    }
  }

  const DepthSensorModel sensor = pick_sensor(opt.sensor, rng);
  scene.depth_m = sense_depth(z_true, no_return, grazing, cam.fx, sensor, rng);

  for (int k = 0; k < instances; ++k) {
    SynthInstance inst;
    inst.category_id = 1;
    inst.mask = (ids == k) / 255;
    if (cv::countNonZero(inst.mask) < opt.min_visible_pixels) continue;
    scene.instances.push_back(std::move(inst));
  }
  return scene;
}

}  // namespace rgbdseg
