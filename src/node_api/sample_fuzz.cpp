// libFuzzer target for a node's receive path of a shared-memory sample, whose every byte the
// sending process wrote: the input becomes a sample segment (its header fields, then the bytes
// after the header page), which goes through SampleView::validate(), metadata decode(),
// check_layout() and export_array(), as NodeImpl does for each input. The ring entry that names
// the segment is decoded too (Entry::unpack of the first 8 bytes).
//
// Properties: no input crashes or leaks; what validate() accepts lies inside the segment; an
// export reads only the `data_len` bytes the header claims (the data is copied to a heap buffer
// of exactly that size, so ASan sees any read past it, which it cannot in a mapping).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"
#include "shm/pool.hpp"
#include "shm/ring.hpp"
#include "shm/segment.hpp"

namespace {

using namespace dora;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// The header fields a sender writes, in SampleHeader order after the reference count.
struct HeaderFields {
    uint32_t magic;
    uint64_t capacity;
    uint64_t data_len;
    uint64_t metadata_offset;
    uint64_t metadata_len;
    uint64_t sequence;
};
constexpr size_t kFieldBytes = 4 + 5 * 8;

HeaderFields read_fields(const uint8_t* data) {
    HeaderFields f{};
    std::memcpy(&f.magic, data, 4);
    std::memcpy(&f.capacity, data + 4, 8);
    std::memcpy(&f.data_len, data + 12, 8);
    std::memcpy(&f.metadata_offset, data + 20, 8);
    std::memcpy(&f.metadata_len, data + 28, 8);
    std::memcpy(&f.sequence, data + 36, 8);
    return f;
}

void receive(const shm::SampleView& view) {
    auto metadata = message::decode(std::span(view.metadata, view.metadata_len));
    if (!metadata || !message::check_layout(metadata->type_info, view.data_len)) {
        return;
    }
    const std::vector<std::byte> exact(view.data, view.data + view.data_len);
    ArrowArray array{};
    ArrowSchema schema{};
    if (message::export_array(metadata->type_info, exact.data(), exact.size(), nullptr, &array,
                              &schema)) {
        array.release(&array);
        schema.release(&schema);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 8 + kFieldBytes) {
        return 0;
    }
    uint64_t word = 0;
    std::memcpy(&word, data, 8);
    const shm::Entry entry = shm::Entry::unpack(word, 0);
    check(shm::Entry::unpack(entry.pack(), 0) == entry);

    const HeaderFields fields = read_fields(data + 8);
    const uint8_t* body = data + 8 + kFieldBytes;
    const size_t body_size = size - 8 - kFieldBytes;
    const size_t header_size = shm::sample_header_size();
    const std::string name = "/dora." + std::to_string(::getpid()) + ".sample_fuzz";
    auto segment = shm::Segment::create(name, header_size + body_size);
    (void)shm::unlink_segment(name);
    check(segment.has_value());
    auto* header = segment->as<shm::SampleHeader>();
    header->magic = fields.magic;
    header->capacity = fields.capacity;
    header->data_len = fields.data_len;
    header->metadata_offset = fields.metadata_offset;
    header->metadata_len = fields.metadata_len;
    header->sequence = fields.sequence;
    if (body_size > 0) {
        std::memcpy(segment->data() + header_size, body, body_size);
    }
    auto view = shm::SampleView::validate(*segment);
    if (!view) {
        return 0;
    }
    const std::byte* begin = segment->data();
    const std::byte* end = begin + segment->size();
    check(view->data >= begin && view->data + view->data_len <= end);
    check(view->metadata >= begin && view->metadata + view->metadata_len <= end);
    receive(*view);
    return 0;
}
