#include "rgbdseg/io/rosbag.h"

#include <lz4frame.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"

namespace rgbdseg {

namespace {

constexpr char kMagic[] = "#ROSBAG V2.0\n";
constexpr size_t kMagicSize = 13;
enum Op : uint8_t { kMessageData = 0x02, kBagHeader = 0x03, kIndexData = 0x04, kChunk = 0x05, kChunkInfo = 0x06,
                    kConnection = 0x07 };

// A record's header fields: name -> raw value bytes.
using Fields = std::map<std::string, std::string>;

struct Failure {
  const std::string& path;
  [[noreturn]] void operator()(uint64_t offset, const std::string& what) const {
    throw Error(path + ": byte " + std::to_string(offset) + ": " + what);
  }
};

uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint64_t load_u64(const uint8_t* p) { return load_u32(p) | static_cast<uint64_t>(load_u32(p + 4)) << 32; }

Fields parse_fields(const uint8_t* p, size_t size, uint64_t offset, const Failure& fail) {
  Fields fields;
  size_t at = 0;
  while (at < size) {
    if (size - at < 4) fail(offset + at, "truncated header field length");
    const uint32_t len = load_u32(p + at);
    at += 4;
    if (len > size - at) fail(offset + at, "header field of " + std::to_string(len) + " bytes runs past its header");
    const auto* begin = reinterpret_cast<const char*>(p + at);
    const auto* eq = static_cast<const char*>(std::memchr(begin, '=', len));
    if (!eq) fail(offset + at, "header field without '='");
    fields[std::string(begin, eq)] = std::string(eq + 1, begin + len);
    at += len;
  }
  return fields;
}

const std::string& field(const Fields& f, const char* name, uint64_t offset, const Failure& fail) {
  const auto it = f.find(name);
  if (it == f.end()) fail(offset, std::string("record without its '") + name + "' field");
  return it->second;
}
uint8_t field_u8(const Fields& f, const char* name, uint64_t offset, const Failure& fail) {
  const std::string& v = field(f, name, offset, fail);
  if (v.size() != 1) fail(offset, std::string("field '") + name + "' is not 1 byte");
  return static_cast<uint8_t>(v[0]);
}
uint32_t field_u32(const Fields& f, const char* name, uint64_t offset, const Failure& fail) {
  const std::string& v = field(f, name, offset, fail);
  if (v.size() != 4) fail(offset, std::string("field '") + name + "' is not 4 bytes");
  return load_u32(reinterpret_cast<const uint8_t*>(v.data()));
}
uint64_t field_u64(const Fields& f, const char* name, uint64_t offset, const Failure& fail) {
  const std::string& v = field(f, name, offset, fail);
  if (v.size() != 8) fail(offset, std::string("field '") + name + "' is not 8 bytes");
  return load_u64(reinterpret_cast<const uint8_t*>(v.data()));
}
// ROS time: u32 seconds then u32 nanoseconds.
uint64_t field_time_ns(const Fields& f, const char* name, uint64_t offset, const Failure& fail) {
  const uint64_t t = field_u64(f, name, offset, fail);
  return (t & 0xffffffffu) * 1000000000ull + (t >> 32);
}

// One record read from memory: its header fields and data span.
struct Record {
  uint64_t offset = 0;  // where the record starts
  Fields fields;
  const uint8_t* data = nullptr;
  size_t data_size = 0;
  size_t total = 0;  // bytes the record occupies
};

Record parse_record(const uint8_t* p, size_t available, uint64_t offset, const Failure& fail) {
  Record r;
  r.offset = offset;
  if (available < 4) fail(offset, "truncated record (no header length)");
  const uint32_t header_len = load_u32(p);
  if (header_len > available - 4) fail(offset, "truncated record: header of " + std::to_string(header_len) + " bytes");
  r.fields = parse_fields(p + 4, header_len, offset + 4, fail);
  const size_t at = 4 + static_cast<size_t>(header_len);
  if (available - at < 4) fail(offset + at, "truncated record (no data length)");
  const uint32_t data_len = load_u32(p + at);
  if (data_len > available - at - 4) fail(offset + at, "truncated record: data of " + std::to_string(data_len) + " bytes");
  r.data = p + at + 4;
  r.data_size = data_len;
  r.total = at + 4 + data_len;
  return r;
}

// Reads the record at `pos` of the file (header and data) into `buffer`.
Record read_file_record(std::ifstream& in, uint64_t pos, uint64_t file_size, std::vector<uint8_t>& buffer,
                        const Failure& fail) {
  if (file_size - pos < 8) fail(pos, "truncated record at the end of the file");
  uint8_t len[4];
  in.seekg(static_cast<std::streamoff>(pos));
  in.read(reinterpret_cast<char*>(len), 4);
  const uint64_t header_len = load_u32(len);
  if (header_len + 8 > file_size - pos) fail(pos, "truncated record: header of " + std::to_string(header_len) + " bytes");
  uint8_t dlen[4];
  in.seekg(static_cast<std::streamoff>(pos + 4 + header_len));
  in.read(reinterpret_cast<char*>(dlen), 4);
  const uint64_t data_len = load_u32(dlen);
  const uint64_t total = 8 + header_len + data_len;
  if (total > file_size - pos) fail(pos, "truncated record: data of " + std::to_string(data_len) + " bytes");
  buffer.resize(total);
  in.seekg(static_cast<std::streamoff>(pos));
  in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(total));
  if (!in) fail(pos, "cannot read the record");
  return parse_record(buffer.data(), buffer.size(), pos, fail);
}

BagConnection parse_connection(const Record& r, const Failure& fail) {
  BagConnection c;
  c.id = field_u32(r.fields, "conn", r.offset, fail);
  c.topic = field(r.fields, "topic", r.offset, fail);
  const Fields d = parse_fields(r.data, r.data_size, r.offset, fail);
  auto get = [&](const char* name) {
    const auto it = d.find(name);
    return it == d.end() ? std::string() : it->second;
  };
  c.type = get("type");
  c.md5sum = get("md5sum");
  c.message_definition = get("message_definition");
  return c;
}

std::vector<uint8_t> lz4_decompress(const uint8_t* src, size_t size, size_t expected, uint64_t offset,
                                    const Failure& fail) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) fail(offset, "LZ4: cannot create a context");
  std::vector<uint8_t> out(expected);
  size_t in_at = 0, out_at = 0;
  size_t status = 1;
  while (status != 0 && in_at < size) {
    size_t in_size = size - in_at, out_size = out.size() - out_at;
    status = LZ4F_decompress(ctx, out.data() + out_at, &out_size, src + in_at, &in_size, nullptr);
    if (LZ4F_isError(status)) {
      const std::string why = LZ4F_getErrorName(status);
      LZ4F_freeDecompressionContext(ctx);
      fail(offset, "LZ4 chunk does not decode (" + why + ")");
    }
    in_at += in_size;
    out_at += out_size;
    if (in_size == 0 && out_size == 0) break;  // no progress: the frame is cut short
  }
  LZ4F_freeDecompressionContext(ctx);
  if (status != 0) fail(offset, "LZ4 chunk is cut short");
  if (out_at != expected) {
    fail(offset, "LZ4 chunk decodes to " + std::to_string(out_at) + " bytes, its header says " + std::to_string(expected));
  }
  return out;
}

}  // namespace

RosBag::RosBag(std::string path) : path_(std::move(path)) {
  const Failure fail{path_};
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw Error(path_ + ": cannot open");
  file_size_ = std::filesystem::file_size(path_);
  char magic[kMagicSize] = {};
  in.read(magic, kMagicSize);
  if (!in || std::memcmp(magic, kMagic, kMagicSize) != 0) {
    throw Error(path_ + ": not a ROS bag v2.0 (the file does not start with '#ROSBAG V2.0')");
  }
  std::vector<uint8_t> buffer;
  const Record header = read_file_record(in, kMagicSize, file_size_, buffer, fail);
  if (field_u8(header.fields, "op", header.offset, fail) != kBagHeader) fail(header.offset, "the first record is not the bag header");
  index_pos_ = field_u64(header.fields, "index_pos", header.offset, fail);
  conn_count_ = field_u32(header.fields, "conn_count", header.offset, fail);
  chunk_count_ = field_u32(header.fields, "chunk_count", header.offset, fail);
  if (index_pos_ != 0 && index_pos_ < file_size_) {
    read_index();
  } else {
    scan_chunks();
  }
}

void RosBag::read_index() {
  const Failure fail{path_};
  std::ifstream in(path_, std::ios::binary);
  std::vector<uint8_t> buffer;
  for (uint64_t pos = index_pos_; pos < file_size_;) {
    const Record r = read_file_record(in, pos, file_size_, buffer, fail);
    const uint8_t op = field_u8(r.fields, "op", r.offset, fail);
    if (op == kConnection) {
      add_connection(parse_connection(r, fail));
    } else if (op == kChunkInfo) {
      BagChunkInfo info;
      if (field_u32(r.fields, "ver", r.offset, fail) != 1) fail(r.offset, "chunk info version is not 1");
      info.chunk_pos = field_u64(r.fields, "chunk_pos", r.offset, fail);
      info.start_ns = field_time_ns(r.fields, "start_time", r.offset, fail);
      info.end_ns = field_time_ns(r.fields, "end_time", r.offset, fail);
      const uint32_t count = field_u32(r.fields, "count", r.offset, fail);
      if (r.data_size != 8ull * count) fail(r.offset, "chunk info with " + std::to_string(count) + " entries has " +
                                                          std::to_string(r.data_size) + " data bytes");
      for (uint32_t i = 0; i < count; ++i) info.counts[load_u32(r.data + 8 * i)] += load_u32(r.data + 8 * i + 4);
      if (info.chunk_pos >= index_pos_) fail(r.offset, "chunk info points past the chunk section");
      chunks_.push_back(std::move(info));
    } else {
      fail(r.offset, "unexpected record (op " + std::to_string(op) + ") in the index section");
    }
    pos += r.total;
  }
  if (connections_.size() != conn_count_ || chunks_.size() != chunk_count_) {
    throw Error(path_ + ": the index has " + std::to_string(connections_.size()) + " connections and " +
                std::to_string(chunks_.size()) + " chunks, the bag header says " + std::to_string(conn_count_) +
                " and " + std::to_string(chunk_count_));
  }
  std::sort(chunks_.begin(), chunks_.end(),
            [](const BagChunkInfo& a, const BagChunkInfo& b) { return a.chunk_pos < b.chunk_pos; });
  indexed_ = true;
}

void RosBag::scan_chunks() {
  // No index: walk the records; each chunk is read to count its messages.
  const Failure fail{path_};
  std::ifstream in(path_, std::ios::binary);
  std::vector<uint8_t> buffer;
  uint64_t pos = kMagicSize;
  pos += read_file_record(in, pos, file_size_, buffer, fail).total;  // the bag header
  while (pos < file_size_) {
    const Record r = read_file_record(in, pos, file_size_, buffer, fail);
    const uint8_t op = field_u8(r.fields, "op", r.offset, fail);
    if (op == kChunk) {
      BagChunkInfo info;
      info.chunk_pos = pos;
      std::string compression;
      const std::vector<uint8_t> chunk = read_chunk(pos, &compression);
      bool first = true;
      for (size_t at = 0; at < chunk.size();) {
        const Record m = parse_record(chunk.data() + at, chunk.size() - at, pos, fail);
        const uint8_t mop = field_u8(m.fields, "op", pos, fail);
        if (mop == kConnection) {
          add_connection(parse_connection(m, fail));
        } else if (mop == kMessageData) {
          const uint64_t t = field_time_ns(m.fields, "time", pos, fail);
          ++info.counts[field_u32(m.fields, "conn", pos, fail)];
          info.start_ns = first ? t : std::min(info.start_ns, t);
          info.end_ns = first ? t : std::max(info.end_ns, t);
          first = false;
        }
        at += m.total;
      }
      chunks_.push_back(std::move(info));
    } else if (op == kConnection) {
      add_connection(parse_connection(r, fail));
    }
    pos += r.total;
  }
}

std::vector<uint8_t> RosBag::read_chunk(uint64_t pos, std::string* compression) const {
  const Failure fail{path_};
  std::ifstream in(path_, std::ios::binary);
  std::vector<uint8_t> buffer;
  const Record r = read_file_record(in, pos, file_size_, buffer, fail);
  if (field_u8(r.fields, "op", r.offset, fail) != kChunk) fail(pos, "the index points at a record that is not a chunk");
  *compression = field(r.fields, "compression", r.offset, fail);
  chunk_compression_[pos] = *compression;
  const uint32_t size = field_u32(r.fields, "size", r.offset, fail);
  if (*compression == "none") {
    if (r.data_size != size) fail(pos, "uncompressed chunk of " + std::to_string(r.data_size) + " bytes, its header says " + std::to_string(size));
    return std::vector<uint8_t>(r.data, r.data + r.data_size);
  }
  if (*compression == "lz4") {
    // LZ4 expands at most ~255x: a larger claim is a damaged header, not a reason to allocate gigabytes.
    if (size > 255ull * r.data_size + 4096) fail(pos, "LZ4 chunk claims " + std::to_string(size) + " bytes from " + std::to_string(r.data_size));
    return lz4_decompress(r.data, r.data_size, size, pos, fail);
  }
  fail(pos, "chunk compression '" + *compression + "' is not supported (none and lz4 are; RealSense writes those)");
}

void RosBag::add_connection(BagConnection c) {
  // Connections repeat (inside the chunks and again in the index): the first one counts.
  if (connection_index_.count(c.id)) return;
  connection_index_[c.id] = connections_.size();
  connections_.push_back(std::move(c));
}

uint64_t RosBag::message_count(uint32_t connection) const {
  uint64_t n = 0;
  for (const auto& c : chunks_) {
    const auto it = c.counts.find(connection);
    if (it != c.counts.end()) n += it->second;
  }
  return n;
}

uint64_t RosBag::message_count() const {
  uint64_t n = 0;
  for (const auto& c : chunks_) {
    for (const auto& [conn, count] : c.counts) n += count;
  }
  return n;
}

uint64_t RosBag::start_ns() const {
  uint64_t t = 0;
  bool any = false;
  for (const auto& c : chunks_) {
    if (c.counts.empty()) continue;
    t = any ? std::min(t, c.start_ns) : c.start_ns;
    any = true;
  }
  return t;
}

uint64_t RosBag::end_ns() const {
  uint64_t t = 0;
  for (const auto& c : chunks_) {
    if (!c.counts.empty()) t = std::max(t, c.end_ns);
  }
  return t;
}

const BagConnection* RosBag::find_topic(const std::string& topic) const {
  for (const auto& c : connections_) {
    if (c.topic == topic) return &c;
  }
  return nullptr;
}

std::vector<std::string> RosBag::compressions() const {
  std::set<std::string> seen;
  for (const auto& c : chunks_) {
    auto it = chunk_compression_.find(c.chunk_pos);
    if (it == chunk_compression_.end()) {
      // Only the chunk record's header is needed: read it.
      const Failure fail{path_};
      std::ifstream in(path_, std::ios::binary);
      uint8_t len[4];
      in.seekg(static_cast<std::streamoff>(c.chunk_pos));
      in.read(reinterpret_cast<char*>(len), 4);
      const uint32_t header_len = load_u32(len);
      if (!in || header_len > file_size_ - c.chunk_pos - 4) fail(c.chunk_pos, "truncated chunk header");
      std::vector<uint8_t> header(header_len);
      in.read(reinterpret_cast<char*>(header.data()), header_len);
      const Fields f = parse_fields(header.data(), header.size(), c.chunk_pos + 4, fail);
      it = chunk_compression_.emplace(c.chunk_pos, field(f, "compression", c.chunk_pos, fail)).first;
    }
    seen.insert(it->second);
  }
  return {seen.begin(), seen.end()};
}

void RosBag::for_each_message(const std::function<bool(const BagMessageView&)>& fn,
                              const std::vector<std::string>& topics) const {
  const Failure fail{path_};
  std::set<uint32_t> wanted;
  for (const auto& t : topics) {
    for (const auto& c : connections_) {
      if (c.topic == t) wanted.insert(c.id);
    }
  }
  for (const auto& info : chunks_) {
    if (!topics.empty()) {
      bool any = false;
      for (const auto& [conn, count] : info.counts) any |= wanted.count(conn) > 0;
      if (!any) continue;
    }
    std::string compression;
    const std::vector<uint8_t> chunk = read_chunk(info.chunk_pos, &compression);
    for (size_t at = 0; at < chunk.size();) {
      const Record m = parse_record(chunk.data() + at, chunk.size() - at, info.chunk_pos, fail);
      if (field_u8(m.fields, "op", info.chunk_pos, fail) == kMessageData) {
        const uint32_t conn = field_u32(m.fields, "conn", info.chunk_pos, fail);
        if (topics.empty() || wanted.count(conn)) {
          const auto it = connection_index_.find(conn);
          if (it == connection_index_.end()) fail(info.chunk_pos, "message on unknown connection " + std::to_string(conn));
          BagMessageView view;
          view.connection = &connections_[it->second];
          view.time_ns = field_time_ns(m.fields, "time", info.chunk_pos, fail);
          view.data = m.data;
          view.size = m.data_size;
          if (!fn(view)) return;
        }
      }
      at += m.total;
    }
  }
}

// ---------------------------------------------------------------- writing

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& s, uint64_t v) {
  put_u32(s, static_cast<uint32_t>(v));
  put_u32(s, static_cast<uint32_t>(v >> 32));
}
std::string u32_bytes(uint32_t v) {
  std::string s;
  put_u32(s, v);
  return s;
}
std::string u64_bytes(uint64_t v) {
  std::string s;
  put_u64(s, v);
  return s;
}
std::string time_bytes(uint64_t ns) {
  std::string s;
  put_u32(s, static_cast<uint32_t>(ns / 1000000000ull));
  put_u32(s, static_cast<uint32_t>(ns % 1000000000ull));
  return s;
}
std::string fields_block(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s;
  for (const auto& [name, value] : fields) {
    put_u32(s, static_cast<uint32_t>(name.size() + 1 + value.size()));
    s += name + "=" + value;
  }
  return s;
}
std::string record(const std::vector<std::pair<std::string, std::string>>& header, const std::string& data) {
  std::string s;
  const std::string h = fields_block(header);
  put_u32(s, static_cast<uint32_t>(h.size()));
  s += h;
  put_u32(s, static_cast<uint32_t>(data.size()));
  s += data;
  return s;
}
std::string op_byte(Op op) { return std::string(1, static_cast<char>(op)); }
std::string connection_record(const BagConnection& c) {
  return record({{"op", op_byte(kConnection)}, {"conn", u32_bytes(c.id)}, {"topic", c.topic}},
                fields_block({{"topic", c.topic}, {"type", c.type}, {"md5sum", c.md5sum},
                              {"message_definition", c.message_definition}}));
}

}  // namespace

void write_ros_bag(const std::string& path, const std::vector<BagConnection>& connections,
                   const std::vector<BagWriteMessage>& messages, size_t per_chunk, const std::string& compression,
                   bool with_index) {
  if (compression != "none" && compression != "lz4") throw Error("write_ros_bag: compression none or lz4");
  if (per_chunk == 0) throw Error("write_ros_bag: per_chunk must be positive");
  std::string out(kMagic, kMagicSize);
  const size_t header_at = out.size();
  auto bag_header = [&](uint64_t index_pos, uint32_t conns, uint32_t chunks) {
    const std::string h = fields_block({{"op", op_byte(kBagHeader)}, {"index_pos", u64_bytes(index_pos)},
                                        {"conn_count", u32_bytes(conns)}, {"chunk_count", u32_bytes(chunks)}});
    std::string s;
    put_u32(s, static_cast<uint32_t>(h.size()));
    s += h;
    const size_t padding = 4096 - h.size();  // header plus data fill 4096 bytes
    put_u32(s, static_cast<uint32_t>(padding));
    s += std::string(padding, ' ');
    return s;
  };
  out += bag_header(0, 0, 0);
  std::set<uint32_t> written;
  std::string chunk_infos;
  uint32_t chunk_count = 0;
  for (size_t first = 0; first < messages.size(); first += per_chunk) {
    const size_t last = std::min(messages.size(), first + per_chunk);
    std::string plain;
    std::map<uint32_t, std::vector<std::pair<uint64_t, uint32_t>>> index;  // conn -> (time, offset)
    std::map<uint32_t, uint32_t> counts;
    uint64_t start = messages[first].time_ns, end = start;
    for (size_t i = first; i < last; ++i) {
      const BagWriteMessage& m = messages[i];
      if (written.insert(m.connection).second) {
        for (const auto& c : connections) {
          if (c.id == m.connection) plain += connection_record(c);
        }
      }
      index[m.connection].emplace_back(m.time_ns, static_cast<uint32_t>(plain.size()));
      ++counts[m.connection];
      start = std::min(start, m.time_ns);
      end = std::max(end, m.time_ns);
      plain += record({{"op", op_byte(kMessageData)}, {"conn", u32_bytes(m.connection)}, {"time", time_bytes(m.time_ns)}},
                      std::string(m.data.begin(), m.data.end()));
    }
    std::string stored = plain;
    if (compression == "lz4") {
      LZ4F_preferences_t prefs{};
      prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      stored.resize(LZ4F_compressFrameBound(plain.size(), &prefs));
      const size_t n = LZ4F_compressFrame(stored.data(), stored.size(), plain.data(), plain.size(), &prefs);
      if (LZ4F_isError(n)) throw Error("write_ros_bag: LZ4 compression failed");
      stored.resize(n);
    }
    const uint64_t chunk_pos = out.size();
    out += record({{"op", op_byte(kChunk)}, {"compression", compression}, {"size", u32_bytes(static_cast<uint32_t>(plain.size()))}},
                  stored);
    for (const auto& [conn, entries] : index) {
      std::string data;
      for (const auto& [t, offset] : entries) {
        data += time_bytes(t);
        put_u32(data, offset);
      }
      out += record({{"op", op_byte(kIndexData)}, {"ver", u32_bytes(1)}, {"conn", u32_bytes(conn)},
                     {"count", u32_bytes(static_cast<uint32_t>(entries.size()))}},
                    data);
    }
    std::string info_data;
    for (const auto& [conn, count] : counts) {
      put_u32(info_data, conn);
      put_u32(info_data, count);
    }
    chunk_infos += record({{"op", op_byte(kChunkInfo)}, {"ver", u32_bytes(1)}, {"chunk_pos", u64_bytes(chunk_pos)},
                           {"start_time", time_bytes(start)}, {"end_time", time_bytes(end)},
                           {"count", u32_bytes(static_cast<uint32_t>(counts.size()))}},
                          info_data);
    ++chunk_count;
  }
  if (with_index) {
    const uint64_t index_pos = out.size();
    for (const auto& c : connections) out += connection_record(c);
    out += chunk_infos;
    out.replace(header_at, 4096 + 8, bag_header(index_pos, static_cast<uint32_t>(connections.size()), chunk_count));
  }
  write_file_atomic(path, out);
}

}  // namespace rgbdseg
