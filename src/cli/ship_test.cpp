// The CLI's file sender (ship.hpp) against a fake link: only the wanted files, in order, in
// chunks of at most kFileChunkBytes with at most kFileChunkWindow unacknowledged; a file that
// changed since its manifest was made, and a chunk a machine refused, end the transfer with the
// file or the machine named.
#include "cli/ship.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>

#include "testing/temp_dir.hpp"

namespace dora::cli {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

// Acknowledges chunks only when the sender waits, recording the most ever in flight.
struct FakeLink {
    std::deque<message::CliFileChunk> in_flight;
    std::vector<message::CliFileChunk> sent;
    size_t most_in_flight = 0;
    std::string refuse_with;  // the first ack carries this error
    ChunkLink link() {
        ChunkLink l;
        l.send = [this](message::CliFileChunk chunk) -> Result<> {
            sent.push_back(chunk);
            in_flight.push_back(std::move(chunk));
            most_in_flight = std::max(most_in_flight, in_flight.size());
            return {};
        };
        l.next_ack = [this]() -> Result<message::FileChunkAck> {
            auto chunk = in_flight.front();
            in_flight.pop_front();
            return message::FileChunkAck{chunk.transfer, chunk.sha256, chunk.offset, refuse_with};
        };
        return l;
    }
};

TEST(SendFiles, OnlyWantedFilesTravelInBoundedChunksAndReassembleExactly) {
    testing::TempDir dir;
    std::string big(message::kFileChunkBytes * 5 + 123, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
    write(dir.path() / "model.bin", big);
    write(dir.path() / "nodes/a.py", "print(1)\n");
    write(dir.path() / "flow.yml", "nodes: []\n");
    auto manifest = deploy::build_manifest(dir.path()).value();
    std::vector<std::string> wanted;
    for (const auto& f : manifest.files) {
        if (f.path != "flow.yml") wanted.push_back(f.sha256);  // the machines have flow.yml
    }
    FakeLink fake;
    auto link = fake.link();
    ASSERT_TRUE(send_files(dir.path(), manifest, wanted, "flow-1", link));
    EXPECT_LE(fake.most_in_flight, message::kFileChunkWindow);
    EXPECT_TRUE(fake.in_flight.empty());
    std::map<std::string, std::string> got;
    for (const auto& chunk : fake.sent) {
        auto bytes = deploy::base64_decode(chunk.data).value();
        EXPECT_LE(bytes.size(), message::kFileChunkBytes);
        auto& file = got[chunk.sha256];
        EXPECT_EQ(chunk.offset, file.size());
        file.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        EXPECT_EQ(chunk.transfer, "flow-1");
    }
    ASSERT_EQ(got.size(), 2u);
    for (const auto& f : manifest.files) {
        if (f.path == "model.bin") {
            EXPECT_EQ(got[f.sha256], big);
        } else if (f.path == "nodes/a.py") {
            EXPECT_EQ(got[f.sha256], "print(1)\n");
        }
    }
}

TEST(SendFiles, AFileChangedSinceItsManifestIsRefusedNamingIt) {
    testing::TempDir dir;
    write(dir.path() / "data.txt", "before");
    auto manifest = deploy::build_manifest(dir.path()).value();
    write(dir.path() / "data.txt", "after!");  // same size, other content
    FakeLink fake;
    auto link = fake.link();
    auto sent = send_files(dir.path(), manifest, {manifest.files[0].sha256}, "flow-1", link);
    ASSERT_FALSE(sent);
    const auto& text = sent.error().message();
    EXPECT_NE(text.find((dir.path() / "data.txt").string() + " changed while"), std::string::npos)
        << text;
    EXPECT_TRUE(fake.sent.empty());  // its last (only) chunk never left
    write(dir.path() / "data.txt", "shrt");
    auto shorter = send_files(dir.path(), manifest, {manifest.files[0].sha256}, "flow-1", link);
    ASSERT_FALSE(shorter);
    EXPECT_NE(shorter.error().message().find("it is shorter now"), std::string::npos);
}

TEST(SendFiles, AChunkAMachineRefusedEndsTheTransferWithItsReason) {
    testing::TempDir dir;
    write(dir.path() / "data.txt", "content");
    auto manifest = deploy::build_manifest(dir.path()).value();
    FakeLink fake;
    fake.refuse_with = "machine `edge`: file data.txt: no space left on the device";
    auto link = fake.link();
    auto sent = send_files(dir.path(), manifest, {manifest.files[0].sha256}, "flow-1", link);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().message(), fake.refuse_with);
}

TEST(ShipLimit, SizesWithUnitsAndRefusals) {
    EXPECT_EQ(parse_byte_size("256M").value(), uint64_t{256} << 20);
    EXPECT_EQ(parse_byte_size("2K").value(), 2048u);
    EXPECT_EQ(parse_byte_size("1G").value(), uint64_t{1} << 30);
    EXPECT_EQ(parse_byte_size("100").value(), 100u);
    EXPECT_FALSE(parse_byte_size("2X"));
    EXPECT_FALSE(parse_byte_size("M"));
    EXPECT_FALSE(parse_byte_size("99999999999G"));
}

}  // namespace
}  // namespace dora::cli
