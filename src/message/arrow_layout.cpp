#include "message/arrow_layout.hpp"

#include <cstring>
#include <limits>
#include <vector>

#include "message/arrow_format.hpp"

namespace dora::message {
namespace {

// ---- planning ------------------------------------------------------------------------------

class Planner {
  public:
    Result<ArrowTypeInfo> plan(const ArrowArray& array, const ArrowSchema& schema, int depth) {
        if (depth > kMaxDepth) {
            return fail("plan_packing: array nested deeper than {} levels", kMaxDepth);
        }
        if (array.release == nullptr || schema.release == nullptr) {
            return fail("plan_packing: the array or its schema was already released");
        }
        if (schema.format == nullptr) {
            return fail("plan_packing: the schema has no format");
        }
        ArrowTypeInfo info;
        info.format = schema.format;
        info.name = schema.name != nullptr ? schema.name : "";
        info.flags = schema.flags;
        info.length = array.length;
        info.null_count = array.null_count;
        info.offset = array.offset;
        auto format = check_shape(array, schema, info.format);
        if (!format) {
            return fail(format.error());
        }
        if (auto placed = place_buffers(array, *format, info); !placed) {
            return fail(placed.error());
        }
        info.children.reserve(static_cast<size_t>(array.n_children));
        for (int64_t i = 0; i < array.n_children; ++i) {
            auto child = plan(*array.children[i], *schema.children[i], depth + 1);
            if (!child) {
                return child;
            }
            info.children.push_back(std::move(*child));
        }
        if (array.dictionary != nullptr) {
            auto dictionary = plan(*array.dictionary, *schema.dictionary, depth + 1);
            if (!dictionary) {
                return dictionary;
            }
            info.dictionary = std::make_unique<ArrowTypeInfo>(std::move(*dictionary));
        }
        return info;
    }

    [[nodiscard]] uint64_t total_size() const { return cursor_; }

  private:
    static Result<FormatInfo> check_shape(const ArrowArray& array, const ArrowSchema& schema,
                                          std::string_view format_string) {
        auto format = parse_format(format_string);
        if (!format) {
            return fail(format.error().context("plan_packing"));
        }
        const auto shape_error = [&](std::string_view what) {
            return fail("plan_packing: array of format '{}': {}", format_string, what);
        };
        if (array.length < 0 || array.offset < 0) {
            return shape_error("negative length or offset");
        }
        if (array.n_buffers != format->n_buffers ||
            (array.n_buffers > 0 && array.buffers == nullptr)) {
            return shape_error(fmt::format("has {} buffers, the format needs {}", array.n_buffers,
                                           format->n_buffers));
        }
        const bool one_child =
            format->kind == LayoutKind::kList || format->kind == LayoutKind::kFixedSizeList;
        const bool children_ok =
            one_child ? array.n_children == 1
                      : (format->kind == LayoutKind::kStruct || array.n_children == 0);
        if (!children_ok || array.n_children != schema.n_children) {
            return shape_error(
                fmt::format("has {} children (schema: {})", array.n_children, schema.n_children));
        }
        for (int64_t i = 0; i < array.n_children; ++i) {
            if (array.children == nullptr || schema.children == nullptr ||
                array.children[i] == nullptr || schema.children[i] == nullptr) {
                return shape_error("a child is missing");
            }
        }
        if ((array.dictionary == nullptr) != (schema.dictionary == nullptr)) {
            return shape_error("array and schema disagree on having a dictionary");
        }
        if (array.dictionary != nullptr && !is_integer_format(format_string)) {
            return shape_error("dictionary indices must have an integer format");
        }
        return format;
    }

    Result<> place_buffers(const ArrowArray& array, const FormatInfo& format, ArrowTypeInfo& info) {
        const auto end = static_cast<uint64_t>(array.offset) + static_cast<uint64_t>(array.length);
        if (format.n_buffers > 0) {
            if (array.buffers[0] == nullptr) {
                if (info.null_count > 0) {
                    return fail("plan_packing: validity bitmap is null but the null count is {}",
                                info.null_count);
                }
                info.null_count = 0;  // "unknown" without a bitmap means none
            }
            info.buffers.push_back(place(array.buffers[0], bitmap_bytes(end)));
        }
        uint64_t bytes = 0;
        switch (format.kind) {
            case LayoutKind::kBoolean:
                return place_required(array, 1, bitmap_bytes(end), info);
            case LayoutKind::kFixedWidth:
                if (!checked_mul(end, format.width, bytes)) {
                    return fail("plan_packing: data size of '{}' overflows", info.format);
                }
                return place_required(array, 1, bytes, info);
            case LayoutKind::kVariableBinary:
            case LayoutKind::kList:
                return place_offsets(array, format, end, info);
            case LayoutKind::kNull:
            case LayoutKind::kFixedSizeList:
            case LayoutKind::kStruct:
                return {};
        }
        return {};
    }

    Result<> place_offsets(const ArrowArray& array, const FormatInfo& format, uint64_t end,
                           ArrowTypeInfo& info) {
        const void* offsets = array.buffers[1];
        if (offsets == nullptr) {
            if (end != 0) {
                return fail("plan_packing: offsets buffer of '{}' is null", info.format);
            }
            info.buffers.push_back(BufferRef::null());
            if (format.kind == LayoutKind::kVariableBinary) {
                info.buffers.push_back(place(array.buffers[2], 0));
            }
            return {};
        }
        uint64_t offsets_size = 0;
        if (!checked_mul(end + 1, format.width, offsets_size)) {
            return fail("plan_packing: offsets size of '{}' overflows", info.format);
        }
        info.buffers.push_back(place(offsets, offsets_size));
        if (format.kind == LayoutKind::kList) {
            return {};
        }
        int64_t last = 0;
        if (format.width == 4) {
            int32_t value = 0;
            std::memcpy(&value, static_cast<const char*>(offsets) + end * 4, sizeof value);
            last = value;
        } else {
            std::memcpy(&last, static_cast<const char*>(offsets) + end * 8, sizeof last);
        }
        if (last < 0) {
            return fail("plan_packing: last offset of '{}' is negative ({})", info.format, last);
        }
        return place_required(array, 2, static_cast<uint64_t>(last), info);
    }

    Result<> place_required(const ArrowArray& array, size_t index, uint64_t bytes,
                            ArrowTypeInfo& info) {
        if (array.buffers[index] == nullptr && bytes > 0) {
            return fail("plan_packing: buffer {} of '{}' is null but holds {} bytes", index,
                        info.format, bytes);
        }
        info.buffers.push_back(place(array.buffers[index], bytes));
        return {};
    }

    BufferRef place(const void* source, uint64_t bytes) {
        if (source == nullptr) {
            return BufferRef::null();
        }
        const uint64_t offset = align_up(cursor_, kBufferAlignment);
        cursor_ = offset + bytes;
        return BufferRef{offset, bytes};
    }

    uint64_t cursor_ = 0;
};

// ---- packing -------------------------------------------------------------------------------

class Packer {
  public:
    explicit Packer(std::byte* dest) : dest_(dest) {}

    void pack(const ArrowArray& array, const ArrowTypeInfo& info) {
        for (size_t i = 0; i < info.buffers.size(); ++i) {
            copy(array.buffers[i], info.buffers[i]);
        }
        for (size_t i = 0; i < info.children.size(); ++i) {
            pack(*array.children[i], info.children[i]);
        }
        if (info.dictionary) {
            pack(*array.dictionary, *info.dictionary);
        }
    }

    void copy(const void* source, const BufferRef& ref) {
        if (ref.is_null()) {
            return;
        }
        if (ref.offset > cursor_) {
            std::memset(dest_ + cursor_, 0, ref.offset - cursor_);
        }
        if (ref.length > 0) {
            std::memcpy(dest_ + ref.offset, source, ref.length);
        }
        cursor_ = ref.offset + ref.length;
    }

  private:
    std::byte* dest_;
    uint64_t cursor_ = 0;
};

// ---- offsets check ------------------------------------------------------------------------

template <typename Offset>
Result<> check_offset_values(const std::byte* offsets, uint64_t first, uint64_t count,
                             uint64_t limit, const ArrowTypeInfo& info) {
    Offset previous = 0;
    for (uint64_t i = first; i < first + count; ++i) {
        Offset value = 0;
        std::memcpy(&value, offsets + i * sizeof(Offset), sizeof value);
        if (value < (i == first ? 0 : previous) || static_cast<uint64_t>(value) > limit) {
            return fail("offsets: array of format '{}': offset {} is {}, outside [{}, {}]",
                        info.format, i, static_cast<int64_t>(value),
                        i == first ? 0 : static_cast<int64_t>(previous), limit);
        }
        previous = value;
    }
    return {};
}

Result<> check_offsets_node(const ArrowTypeInfo& info, const std::byte* data) {
    auto format = parse_format(info.format);
    if (!format) {
        return fail(format.error());
    }
    const auto end = static_cast<uint64_t>(info.offset) + static_cast<uint64_t>(info.length);
    const bool has_offsets =
        format->kind == LayoutKind::kVariableBinary || format->kind == LayoutKind::kList;
    if (has_offsets && end != 0) {
        // Elements [offset, offset + length) read offsets offset .. offset + length.
        const uint64_t limit = format->kind == LayoutKind::kList
                                   ? static_cast<uint64_t>(info.children[0].length)
                                   : (info.buffers[2].is_null() ? 0 : info.buffers[2].length);
        const std::byte* offsets = data + info.buffers[1].offset;
        const auto first = static_cast<uint64_t>(info.offset);
        auto valid = format->width == 4
                         ? check_offset_values<int32_t>(
                               offsets, first, static_cast<uint64_t>(info.length) + 1, limit, info)
                         : check_offset_values<int64_t>(
                               offsets, first, static_cast<uint64_t>(info.length) + 1, limit, info);
        if (!valid) {
            return valid;
        }
    }
    for (const ArrowTypeInfo& child : info.children) {
        if (auto valid = check_offsets_node(child, data); !valid) {
            return valid;
        }
    }
    return info.dictionary ? check_offsets_node(*info.dictionary, data) : Result<>{};
}

// ---- export --------------------------------------------------------------------------------

// Stands in for buffers that check_layout() let be null because they hold nothing, for
// consumers that read one offset of an empty array anyway.
alignas(64) const std::byte kZeros[64] = {};

// The children and dictionary of one exported ArrowArray or ArrowSchema node. Each is allocated
// on its own so a consumer may move one out; whatever is still unreleased when the parent goes
// is released with it, as the spec asks.
template <typename Struct>
struct ExportedChildren {
    std::vector<std::unique_ptr<Struct>> owned;
    std::vector<Struct*> pointers;
    std::unique_ptr<Struct> dictionary;

    // Calls fill(child_info, child_struct) for every child and the dictionary of `info`.
    template <typename Fill>
    void build(const ArrowTypeInfo& info, Fill fill) {
        owned.reserve(info.children.size());
        pointers.reserve(info.children.size());
        for (const ArrowTypeInfo& child : info.children) {
            owned.push_back(std::make_unique<Struct>());
            fill(child, owned.back().get());
            pointers.push_back(owned.back().get());
        }
        if (info.dictionary) {
            dictionary = std::make_unique<Struct>();
            fill(*info.dictionary, dictionary.get());
        }
    }

    ExportedChildren() = default;
    ExportedChildren(const ExportedChildren&) = delete;
    ExportedChildren& operator=(const ExportedChildren&) = delete;
    ~ExportedChildren() {
        for (auto& child : owned) {
            if (child->release != nullptr) {
                child->release(child.get());
            }
        }
        if (dictionary && dictionary->release != nullptr) {
            dictionary->release(dictionary.get());
        }
    }
};

struct ArrayPrivate {
    std::shared_ptr<const void> keep_alive;
    std::vector<const void*> buffers;
    ExportedChildren<ArrowArray> children;
};

struct SchemaPrivate {
    std::string format;
    std::string name;
    ExportedChildren<ArrowSchema> children;
};

// Release callbacks: free this node (and with it whatever children are still attached).
template <typename Struct, typename Private>
void release_node(Struct* node) {
    delete static_cast<Private*>(node->private_data);
    node->private_data = nullptr;
    node->release = nullptr;
}

// Fills `out` from a layout check_layout() accepted; `out->release` is set last.
void export_node(const ArrowTypeInfo& info, const std::byte* data,
                 const std::shared_ptr<const void>& keep_alive, ArrowArray* out) {
    auto priv = std::make_unique<ArrayPrivate>();
    priv->keep_alive = keep_alive;
    priv->buffers.reserve(info.buffers.size());
    for (size_t i = 0; i < info.buffers.size(); ++i) {
        const BufferRef& ref = info.buffers[i];
        if (!ref.is_null()) {
            priv->buffers.push_back(data + ref.offset);
        } else {
            priv->buffers.push_back(i == 0 ? nullptr : kZeros);
        }
    }
    priv->children.build(info, [&](const ArrowTypeInfo& child, ArrowArray* child_out) {
        export_node(child, data, keep_alive, child_out);
    });
    out->length = info.length;
    out->null_count = info.null_count;
    out->offset = info.offset;
    out->n_buffers = static_cast<int64_t>(priv->buffers.size());
    out->n_children = static_cast<int64_t>(priv->children.pointers.size());
    out->buffers = priv->buffers.data();
    out->children = priv->children.pointers.data();
    out->dictionary = priv->children.dictionary.get();
    out->private_data = priv.release();
    out->release = &release_node<ArrowArray, ArrayPrivate>;
}

void export_schema_node(const ArrowTypeInfo& info, ArrowSchema* out) {
    auto priv = std::make_unique<SchemaPrivate>();
    priv->format = info.format;
    priv->name = info.name;
    priv->children.build(info, &export_schema_node);
    out->format = priv->format.c_str();
    out->name = priv->name.c_str();
    out->metadata = nullptr;
    out->flags = info.flags;
    out->n_children = static_cast<int64_t>(priv->children.pointers.size());
    out->children = priv->children.pointers.data();
    out->dictionary = priv->children.dictionary.get();
    out->private_data = priv.release();
    out->release = &release_node<ArrowSchema, SchemaPrivate>;
}

}  // namespace

Result<PackedLayout> plan_packing(const ArrowArray& array, const ArrowSchema& schema) {
    Planner planner;
    auto info = planner.plan(array, schema, 0);
    if (!info) {
        return fail(info.error());
    }
    return PackedLayout{std::move(*info), planner.total_size()};
}

Result<> check_offsets(const ArrowTypeInfo& info, const std::byte* data) {
    return check_offsets_node(info, data);
}

void pack(const ArrowArray& array, const PackedLayout& plan, std::byte* dest) {
    Packer packer(dest);
    packer.pack(array, plan.type_info);
}

Result<> export_array(const ArrowTypeInfo& info, const std::byte* data, uint64_t data_size,
                      std::shared_ptr<const void> keep_alive, ArrowArray* out_array,
                      ArrowSchema* out_schema) {
    if (auto valid = check_layout(info, data_size); !valid) {
        return valid;
    }
    if (auto valid = check_offsets(info, data); !valid) {
        return valid;
    }
    ArrowArray array{};
    export_node(info, data, keep_alive, &array);
    ArrowSchema schema{};
    try {
        export_schema_node(info, &schema);
    } catch (...) {
        array.release(&array);
        throw;
    }
    *out_array = array;
    *out_schema = schema;
    return {};
}

ArrowTypeInfo bytes_type_info(uint64_t n) { return primitive_type_info("C", n, 1); }

ArrowTypeInfo primitive_type_info(std::string format, uint64_t length, uint64_t element_size) {
    ArrowTypeInfo info;
    info.format = std::move(format);
    info.length = static_cast<int64_t>(length);
    info.buffers = {BufferRef::null(), BufferRef{0, length * element_size}};
    return info;
}

PackedLayout utf8_layout(std::span<const std::string_view> strings) {
    uint64_t characters = 0;
    for (std::string_view text : strings) {
        characters += text.size();
    }
    const bool large = characters > static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
    const uint64_t offsets_size = (strings.size() + 1) * (large ? 8 : 4);
    const uint64_t data_offset = align_up(offsets_size, kBufferAlignment);
    PackedLayout layout;
    layout.type_info.format.assign(1, large ? 'U' : 'u');
    layout.type_info.length = static_cast<int64_t>(strings.size());
    layout.type_info.buffers = {BufferRef::null(), BufferRef{0, offsets_size},
                                BufferRef{data_offset, characters}};
    layout.total_size = data_offset + characters;
    return layout;
}

void pack_utf8(std::span<const std::string_view> strings, const PackedLayout& layout,
               std::byte* dest) {
    const bool large = layout.type_info.format == "U";
    const BufferRef& offsets = layout.type_info.buffers[1];
    const BufferRef& characters = layout.type_info.buffers[2];
    std::byte* offset_out = dest + offsets.offset;
    std::byte* text_out = dest + characters.offset;
    int64_t position = 0;
    const auto write_offset = [&](int64_t value) {
        if (large) {
            std::memcpy(offset_out, &value, sizeof value);
            offset_out += sizeof value;
        } else {
            const auto narrow = static_cast<int32_t>(value);
            std::memcpy(offset_out, &narrow, sizeof narrow);
            offset_out += sizeof narrow;
        }
    };
    write_offset(0);
    for (std::string_view text : strings) {
        if (!text.empty()) {
            std::memcpy(text_out + position, text.data(), text.size());
        }
        position += static_cast<int64_t>(text.size());
        write_offset(position);
    }
    std::memset(offset_out, 0, static_cast<size_t>(text_out - offset_out));
}

}  // namespace dora::message
