// BatchWriter over a non-blocking socket pair whose far end the test reads: a buffer a large
// queue grew keeps its room while bytes are pending and is freed by release_if_drained once they
// are out (capacity 0, not just size 0); a small one keeps its buffer for the next message; what
// was queued arrives whole and in order either way.
#include "zenoh/tcp_link.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "core/sys.hpp"

namespace dora::zenoh {
namespace {

struct SocketPair {
    sys::UniqueFd ours;
    sys::UniqueFd theirs;
};

SocketPair socket_pair() {
    int fds[2] = {-1, -1};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    return {sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

// Queues `bytes` of batch bodies (full batches, the last one shorter), byte i being i * 7.
void queue(BatchWriter& writer, size_t bytes) {
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(kMaxBatchBody, bytes - done);
        writer.open_batch();
        for (size_t i = 0; i < n; ++i) {
            writer.buffer().push_back(static_cast<uint8_t>((done + i) * 7));
        }
        writer.close_batch();
        done += n;
    }
}

// Writes until the writer is drained, reading the far end meanwhile; returns what arrived.
std::vector<uint8_t> drain(BatchWriter& writer, SocketPair& pair) {
    std::vector<uint8_t> received;
    std::vector<uint8_t> chunk(1 << 16);
    for (bool done = false; !done;) {
        auto written = writer.write(tls::ByteIo(pair.ours.get()));
        EXPECT_TRUE(written.has_value()) << written.error().message();
        done = !written || *written;
        for (;;) {
            auto n = sys::read_some(pair.theirs.get(), chunk.data(), chunk.size());
            if (!n || !*n || **n == 0) {
                break;
            }
            received.insert(received.end(), chunk.begin(),
                            chunk.begin() + static_cast<std::ptrdiff_t>(**n));
        }
    }
    return received;
}

// The stream a receiver sees: each batch's u16 length, then its body.
std::vector<uint8_t> expected_stream(size_t bytes) {
    std::vector<uint8_t> out;
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(kMaxBatchBody, bytes - done);
        out.push_back(static_cast<uint8_t>(n & 0xff));
        out.push_back(static_cast<uint8_t>(n >> 8));
        for (size_t i = 0; i < n; ++i) {
            out.push_back(static_cast<uint8_t>((done + i) * 7));
        }
        done += n;
    }
    return out;
}

TEST(BatchWriter, ALargeQueueIsGivenBackOnceItDrained) {
    auto pair = socket_pair();
    BatchWriter writer;
    const size_t bytes = size_t{24} << 20;  // over the 8 MiB the writer keeps
    queue(writer, bytes);
    ASSERT_GE(writer.buffer().capacity(), bytes);
    auto first = writer.write(tls::ByteIo(pair.ours.get()));
    ASSERT_TRUE(first.has_value()) << first.error().message();
    EXPECT_FALSE(*first) << "a socket pair takes 24 MiB at once: the test proves nothing";
    const size_t capacity = writer.buffer().capacity();
    writer.release_if_drained();  // bytes are pending: nothing is freed
    EXPECT_EQ(writer.buffer().capacity(), capacity);
    EXPECT_EQ(drain(writer, pair), expected_stream(bytes));
    EXPECT_EQ(writer.pending(), 0u);
    EXPECT_EQ(writer.buffer().capacity(), capacity) << "write() keeps the room a message reserved";
    writer.release_if_drained();
    EXPECT_EQ(writer.buffer().capacity(), 0u);
}

TEST(BatchWriter, ASmallQueueKeepsItsBufferForTheNextMessage) {
    auto pair = socket_pair();
    BatchWriter writer;
    queue(writer, 1000);
    const size_t capacity = writer.buffer().capacity();
    EXPECT_EQ(drain(writer, pair), expected_stream(1000));
    EXPECT_EQ(writer.pending(), 0u);
    writer.release_if_drained();
    EXPECT_EQ(writer.buffer().capacity(), capacity);
}

}  // namespace
}  // namespace dora::zenoh
