// The ROS bag v2.0 reader: bags written by our own writer (uncompressed and
// LZ4 chunks, with and without an index) read back exactly; truncated and
// corrupt files are one-line errors naming the file and the byte; and the real
// RealSense recording in ../shared/data/realsense, cross-checked against
// Debian's python3-rosbag (values below from `python3 bagdump.py`, the script
// in the comment of RosBagRealData).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "rgbdseg/core/error.h"
#include "rgbdseg/core/file_util.h"
#include "rgbdseg/io/rosbag.h"
#include "temp_dir.h"
#include "test_paths.h"

using namespace rgbdseg;
using ::testing::HasSubstr;

namespace {

std::vector<BagConnection> two_connections() {
  BagConnection depth, colour;
  depth.id = 0;
  depth.topic = "/device_0/sensor_0/Depth_0/image/data";
  depth.type = "sensor_msgs/Image";
  depth.md5sum = "060021388200f6f0f447d0fcd9c64743";
  depth.message_definition = "uint32 height\nuint32 width\n";
  colour = depth;
  colour.id = 1;
  colour.topic = "/device_0/sensor_1/Color_0/image/data";
  return {depth, colour};
}

// 7 messages alternating between the connections, payloads of different sizes.
std::vector<BagWriteMessage> seven_messages() {
  std::vector<BagWriteMessage> m;
  for (uint32_t i = 0; i < 7; ++i) {
    BagWriteMessage w;
    w.connection = i % 2;
    w.time_ns = 1'000'000'000ull * 5 + 33'000'000ull * i + 7;
    for (uint32_t b = 0; b < 100 + 37 * i; ++b) w.data.push_back(static_cast<uint8_t>(b * 7 + i));
    m.push_back(w);
  }
  return m;
}

std::vector<BagWriteMessage> read_all(const RosBag& bag, const std::vector<std::string>& topics = {}) {
  std::vector<BagWriteMessage> out;
  bag.for_each_message(
      [&](const BagMessageView& v) {
        out.push_back({v.connection->id, v.time_ns, std::vector<uint8_t>(v.data, v.data + v.size)});
        return true;
      },
      topics);
  return out;
}

}  // namespace

TEST(RosBag, WrittenBagsReadBackExactlyInEveryLayout) {
  rgbdseg::testing::ScopedTempDir dir;
  const auto conns = two_connections();
  const auto messages = seven_messages();
  for (const std::string compression : {"none", "lz4"}) {
    for (const bool indexed : {true, false}) {
      const std::string path = dir.file("b_" + compression + (indexed ? "_i" : "") + ".bag");
      write_ros_bag(path, conns, messages, /*per_chunk=*/3, compression, indexed);
      const RosBag bag(path);
      EXPECT_EQ(bag.indexed(), indexed);
      ASSERT_EQ(bag.connections().size(), 2u);
      EXPECT_EQ(bag.connections()[0].topic, conns[0].topic);
      EXPECT_EQ(bag.connections()[1].type, "sensor_msgs/Image");
      EXPECT_EQ(bag.connections()[0].md5sum, conns[0].md5sum);
      EXPECT_EQ(bag.connections()[0].message_definition, conns[0].message_definition);
      EXPECT_EQ(bag.chunks().size(), 3u);  // 3 + 3 + 1 messages
      EXPECT_EQ(bag.message_count(), 7u);
      EXPECT_EQ(bag.message_count(0), 4u);
      EXPECT_EQ(bag.message_count(1), 3u);
      EXPECT_EQ(bag.start_ns(), messages.front().time_ns);
      EXPECT_EQ(bag.end_ns(), messages.back().time_ns);
      EXPECT_EQ(bag.compressions(), std::vector<std::string>{compression});
      const auto got = read_all(bag);
      ASSERT_EQ(got.size(), messages.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].connection, messages[i].connection) << i;
        EXPECT_EQ(got[i].time_ns, messages[i].time_ns) << i;
        EXPECT_EQ(got[i].data, messages[i].data) << i;
      }
      // One topic only, and stopping early.
      const auto colour = read_all(bag, {conns[1].topic});
      ASSERT_EQ(colour.size(), 3u);
      EXPECT_EQ(colour[2].data, messages[5].data);
      int seen = 0;
      bag.for_each_message([&](const BagMessageView&) { return ++seen < 2; });
      EXPECT_EQ(seen, 2);
      ASSERT_NE(bag.find_topic(conns[1].topic), nullptr);
      EXPECT_EQ(bag.find_topic("/nope"), nullptr);
    }
  }
}

TEST(RosBag, BrokenFilesAreOneLineErrorsNamingTheByte) {
  rgbdseg::testing::ScopedTempDir dir;
  const std::string good = dir.file("good.bag");
  write_ros_bag(good, two_connections(), seven_messages(), 3, "lz4");
  const std::string bytes = read_file(good);
  auto expect_error = [&](const std::string& name, const std::string& content, const std::string& what) {
    const std::string path = dir.file(name);
    write_file_atomic(path, content);
    try {
      const RosBag bag(path);
      bag.for_each_message([](const BagMessageView&) { return true; });
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_THAT(msg, HasSubstr(path)) << name;
      EXPECT_THAT(msg, HasSubstr(what)) << name;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  expect_error("empty.bag", "", "not a ROS bag v2.0");
  expect_error("v12.bag", "#ROSBAG V1.2\n" + bytes.substr(13), "not a ROS bag v2.0");
  expect_error("header_cut.bag", bytes.substr(0, 200), "byte 13: truncated record");
  // Cut inside the index: the index section ends in a truncated record.
  expect_error("index_cut.bag", bytes.substr(0, bytes.size() - 10), "truncated record");
  // A chunk's compressed bytes damaged: LZ4 refuses it (content checksum).
  std::string damaged = bytes;
  const size_t chunk_data = 13 + 4104 + 60;  // inside the first chunk's LZ4 frame
  damaged[chunk_data] = static_cast<char>(damaged[chunk_data] ^ 0x5a);
  damaged[chunk_data + 1] = static_cast<char>(damaged[chunk_data + 1] ^ 0x33);
  expect_error("lz4_damaged.bag", damaged, "byte 4117:");
  // Compression this reader does not take.
  const std::string path_bz2 = dir.file("none.bag");
  write_ros_bag(path_bz2, two_connections(), seven_messages(), 3, "none");
  std::string bz2 = read_file(path_bz2);
  const size_t at = bz2.find("compression=none");
  ASSERT_NE(at, std::string::npos);
  bz2.replace(at, 16, "compression=bz2 ");  // same length; the value is now "bz2 "
  expect_error("bz2.bag", bz2, "chunk compression 'bz2 ' is not supported");
}

// The real recording, read by Debian's python3-rosbag for the expected values:
//   import rosbag; b = rosbag.Bag('single_depth_color_640x480.bag')
//   b.get_message_count(), b.get_start_time(), b.get_end_time(), len(b._connections), len(b._chunks)
//   b.get_type_and_topic_info().topics[T].message_count
//   for topic, msg, t in b.read_messages(raw=True): len(msg[1]), t.to_nsec()  (the first image messages)
// -> 135 messages, start 1e-09 s, end 0.1679347 s, 70 connections, 2 chunks; Depth_0/image/data 2
//    messages, Color_0/image/data 1, Depth_0/info/camera_info 1, /file_version 1; the first depth image
//    message is 614444 bytes at 1500 ns, the first colour one 921642 bytes at 54424400 ns.
TEST(RosBagRealData, RealSenseRecordingMatchesPythonRosbag) {
  RGBDSEG_REQUIRE_SHARED(path, "data/realsense/single_depth_color_640x480.bag");
  const RosBag bag(path);
  EXPECT_TRUE(bag.indexed());
  EXPECT_EQ(bag.connections().size(), 70u);
  EXPECT_EQ(bag.chunks().size(), 2u);
  EXPECT_EQ(bag.message_count(), 135u);
  EXPECT_EQ(bag.start_ns(), 1u);
  EXPECT_EQ(bag.end_ns(), 167934700u);
  EXPECT_EQ(bag.compressions(), std::vector<std::string>{"lz4"});
  const std::string depth = "/device_0/sensor_0/Depth_0/image/data", colour = "/device_0/sensor_1/Color_0/image/data";
  ASSERT_NE(bag.find_topic(depth), nullptr);
  EXPECT_EQ(bag.find_topic(depth)->type, "sensor_msgs/Image");
  EXPECT_EQ(bag.message_count(bag.find_topic(depth)->id), 2u);
  EXPECT_EQ(bag.message_count(bag.find_topic(colour)->id), 1u);
  EXPECT_EQ(bag.message_count(bag.find_topic("/device_0/sensor_0/Depth_0/info/camera_info")->id), 1u);
  EXPECT_EQ(bag.message_count(bag.find_topic("/file_version")->id), 1u);
  std::vector<std::pair<size_t, uint64_t>> depth_messages, colour_messages;
  size_t all = 0;
  bag.for_each_message([&](const BagMessageView& v) {
    ++all;
    if (v.connection->topic == depth) depth_messages.emplace_back(v.size, v.time_ns);
    if (v.connection->topic == colour) colour_messages.emplace_back(v.size, v.time_ns);
    return true;
  });
  EXPECT_EQ(all, 135u);
  ASSERT_EQ(depth_messages.size(), 2u);
  EXPECT_EQ(depth_messages[0], (std::pair<size_t, uint64_t>{614444, 1500}));
  ASSERT_EQ(colour_messages.size(), 1u);
  EXPECT_EQ(colour_messages[0], (std::pair<size_t, uint64_t>{921642, 54424400}));
}

// Where Debian's python3-rosbag is installed, it reads what our writer wrote.
TEST(RosBag, PythonRosbagReadsOurBags) {
  if (std::system("/usr/bin/python3 -c 'import rosbag' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-rosbag not installed (apt-get install python3-rosbag)";
  }
  rgbdseg::testing::ScopedTempDir dir;
  for (const std::string compression : {"none", "lz4"}) {
    const std::string path = dir.file(compression + ".bag"), out = dir.file(compression + ".txt");
    write_ros_bag(path, two_connections(), seven_messages(), 3, compression);
    const std::string cmd = "/usr/bin/python3 -c \"import rosbag,sys; b = rosbag.Bag(sys.argv[1]); "
                            "print(b.get_message_count(), ' '.join('%s:%d:%d' % (t, len(m[1]), s.to_nsec()) "
                            "for t, m, s in b.read_messages(raw=True)))\" " + path + " > " + out + " 2> " + out + ".err";
    // (stderr apart: rosbag warns that our test md5sum does not match the stub message definition)
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(out + ".err");
    std::string expected = "7";
    const auto messages = seven_messages();
    for (const auto& m : messages) {
      expected += " " + two_connections()[m.connection].topic + ":" + std::to_string(m.data.size()) + ":" +
                  std::to_string(m.time_ns);
    }
    EXPECT_EQ(read_file(out), expected + "\n") << compression;
  }
}

// Every prefix of a bag (a recording cut anywhere) is an Error or reads a
// prefix of its messages (a bag cut inside its index is scanned); random byte
// changes end in a clean read or an Error, never another exception or a crash.
TEST(RosBag, CutsAndRandomByteChangesNeverEscapeAsOtherErrors) {
  rgbdseg::testing::ScopedTempDir dir;
  const auto messages = seven_messages();
  for (const std::string compression : {"none", "lz4"}) {
    const std::string good = dir.file("good_" + compression + ".bag");
    write_ros_bag(good, two_connections(), messages, 2, compression);
    const std::string bytes = read_file(good);
    const std::string path = dir.file("cut.bag");
    for (size_t length = 0; length < bytes.size(); length += (length < 4200 ? 97 : 7)) {
      write_file_atomic(path, bytes.substr(0, length));
      try {
        const auto got = read_all(RosBag(path));
        ASSERT_LE(got.size(), messages.size()) << length;
        for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].data, messages[i].data) << length;
      } catch (const Error&) {
      }
    }
    std::mt19937 rng(77);
    std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
    std::uniform_int_distribution<int> value(0, 255);
    int rejected = 0;
    for (int trial = 0; trial < 600; ++trial) {
      std::string changed = bytes;
      for (int k = 0; k < 1 + trial % 3; ++k) changed[position(rng)] = static_cast<char>(value(rng));
      write_file_atomic(path, changed);
      try {
        read_all(RosBag(path));
      } catch (const Error&) {
        ++rejected;
      }
    }
    EXPECT_GT(rejected, 0) << compression;
  }
}
