#pragma once
// A reader for ROS1 bag files, format 2.0 (what RealSense cameras record):
// the 13-byte "#ROSBAG V2.0\n" line, then records `u32 header_len | header |
// u32 data_len | data`, headers being runs of `u32 len | name=value` fields.
// Chunks hold connection and message records, uncompressed or LZ4-framed
// (liblz4); bz2 chunks are refused with a clear error (librealsense never
// writes them). The index at the end (connection and chunk-info records)
// gives message counts and times without reading the chunks; a bag without
// an index (a recording cut short) is read by scanning it. Every malformed
// or truncated record is an Error naming the file and the byte offset.
// Reference: ../shared/reference/realsense.md section 1.1.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rgbdseg {

struct BagConnection {
  uint32_t id = 0;
  std::string topic, type, md5sum, message_definition;
};

struct BagChunkInfo {
  uint64_t chunk_pos = 0;                    // file offset of the chunk record
  uint64_t start_ns = 0, end_ns = 0;         // times of its first and last messages
  std::map<uint32_t, uint32_t> counts;       // connection id -> messages in the chunk
};

// One message as read: its connection, time (ns since the epoch) and the
// ROS1-serialised bytes (valid only during the callback).
struct BagMessageView {
  const BagConnection* connection = nullptr;
  uint64_t time_ns = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

class RosBag {
 public:
  // Opens `path`, checks the format line and bag header, and reads the index
  // (or scans the chunks when the bag has none).
  explicit RosBag(std::string path);

  const std::string& path() const { return path_; }
  const std::vector<BagConnection>& connections() const { return connections_; }
  const std::vector<BagChunkInfo>& chunks() const { return chunks_; }
  bool indexed() const { return indexed_; }
  // Messages of a connection according to the chunk index.
  uint64_t message_count(uint32_t connection) const;
  uint64_t message_count() const;
  uint64_t start_ns() const;  // 0 for a bag without messages
  uint64_t end_ns() const;
  // The connection with this topic, or null.
  const BagConnection* find_topic(const std::string& topic) const;
  // Chunk compressions seen in the index ("none", "lz4").
  std::vector<std::string> compressions() const;

  // Calls fn for every message in file order (chunk by chunk, each chunk
  // decompressed once); fn returns false to stop early. With `topics`
  // non-empty, only messages on those topics.
  void for_each_message(const std::function<bool(const BagMessageView&)>& fn,
                        const std::vector<std::string>& topics = {}) const;

 private:
  void read_index();
  void scan_chunks();
  void add_connection(BagConnection c);
  std::vector<uint8_t> read_chunk(uint64_t pos, std::string* compression) const;

  std::string path_;
  uint64_t file_size_ = 0, index_pos_ = 0;
  uint32_t conn_count_ = 0, chunk_count_ = 0;
  bool indexed_ = false;
  std::vector<BagConnection> connections_;
  std::map<uint32_t, size_t> connection_index_;
  std::vector<BagChunkInfo> chunks_;
  mutable std::map<uint64_t, std::string> chunk_compression_;
};

// --- writing, for tests and fixtures (a minimal writer: one chunk per call) ---
struct BagWriteMessage {
  uint32_t connection = 0;
  uint64_t time_ns = 0;
  std::vector<uint8_t> data;
};
// Writes a bag with the given connections and messages; `per_chunk` messages
// per chunk, each chunk stored uncompressed or LZ4-framed ("none" | "lz4");
// with `with_index` false the index (and the bag header's index_pos) is left
// out, as in a recording that was cut short.
void write_ros_bag(const std::string& path, const std::vector<BagConnection>& connections,
                   const std::vector<BagWriteMessage>& messages, size_t per_chunk, const std::string& compression,
                   bool with_index = true);

}  // namespace rgbdseg
