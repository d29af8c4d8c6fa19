// check_layout(): the checks a receiver runs on a decoded ArrowTypeInfo before exposing data.
#include <string>

#include "message/arrow_format.hpp"
#include "message/metadata.hpp"

namespace dora::message {
namespace {

// Where a node sits in the type tree, built on the stack and turned into text only for errors.
struct NodePath {
    const NodePath* parent = nullptr;
    const char* edge = "array";  // "array", "children" or "dictionary"
    size_t index = 0;
};

std::string describe(const NodePath* path) {
    if (path->parent == nullptr) {
        return path->edge;
    }
    std::string parent = describe(path->parent);
    if (std::string_view(path->edge) == "children") {
        return fmt::format("{}.children[{}]", parent, path->index);
    }
    return fmt::format("{}.{}", parent, path->edge);
}

class LayoutChecker {
  public:
    explicit LayoutChecker(uint64_t data_size) : data_size_(data_size) {}

    Result<> check(const ArrowTypeInfo& info, const NodePath& path, int depth) {
        info_ = &info;
        path_ = &path;
        if (depth > kMaxDepth) {
            return error("nested deeper than {} levels", kMaxDepth);
        }
        if (info.length < 0 || info.offset < 0) {
            return error("negative length {} or offset {}", info.length, info.offset);
        }
        if (info.null_count < -1 || info.null_count > info.length) {
            return error("null count {} is outside [-1, length {}]", info.null_count, info.length);
        }
        if (info.dictionary && !is_integer_format(info.format)) {
            return error("dictionary indices must have an integer format");
        }
        auto format = parse_format(info.format);
        if (!format) {
            return error("{}", format.error().message());
        }
        if (info.buffers.size() != static_cast<size_t>(format->n_buffers)) {
            return error("has {} buffers, the format needs {}", info.buffers.size(),
                         format->n_buffers);
        }
        if (auto placed = check_placement(); !placed) {
            return placed;
        }
        if (auto sized = check_sizes(*format); !sized) {
            return sized;
        }
        if (auto children = check_children(*format, path, depth); !children) {
            return children;
        }
        if (info.dictionary) {
            const NodePath child_path{&path, "dictionary", 0};
            return LayoutChecker(data_size_).check(*info.dictionary, child_path, depth + 1);
        }
        return {};
    }

  private:
    template <typename... Args>
    tl::unexpected<Error> error(fmt::format_string<Args...> format, Args&&... args) const {
        return fail("layout: {} (format '{}'): {}", describe(path_), info_->format,
                    fmt::format(format, std::forward<Args>(args)...));
    }

    Result<> check_placement() const {
        for (size_t i = 0; i < info_->buffers.size(); ++i) {
            const BufferRef& buffer = info_->buffers[i];
            if (buffer.is_null()) {
                continue;
            }
            if (buffer.offset % kBufferAlignment != 0) {
                return error("buffer {} at offset {} is not {}-byte aligned", i, buffer.offset,
                             kBufferAlignment);
            }
            if (buffer.offset > data_size_ || buffer.length > data_size_ - buffer.offset) {
                return error("buffer {} [{}, +{}) lies outside the {}-byte data region", i,
                             buffer.offset, buffer.length, data_size_);
            }
        }
        return {};
    }

    // Buffer `index` must hold at least `bytes` bytes (a null buffer holds none).
    Result<> need(size_t index, uint64_t bytes, const char* what) const {
        const BufferRef& buffer = info_->buffers[index];
        const uint64_t have = buffer.is_null() ? 0 : buffer.length;
        if (have < bytes) {
            return error("{} buffer has {} bytes, offset + length = {} elements need {}", what,
                         have, end(), bytes);
        }
        return {};
    }

    Result<> need_product(size_t index, uint64_t count, uint64_t width, const char* what) const {
        uint64_t bytes = 0;
        if (!checked_mul(count, width, bytes)) {
            return error("{} buffer size {} * {} overflows", what, count, width);
        }
        return need(index, bytes, what);
    }

    [[nodiscard]] uint64_t end() const {
        return static_cast<uint64_t>(info_->offset) + static_cast<uint64_t>(info_->length);
    }

    Result<> check_sizes(const FormatInfo& format) const {
        if (format.n_buffers > 0) {
            if (info_->buffers[0].is_null()) {
                if (info_->null_count != 0) {
                    return error("validity bitmap is null but the null count is {}",
                                 info_->null_count);
                }
            } else if (auto valid = need(0, bitmap_bytes(end()), "validity"); !valid) {
                return valid;
            }
        }
        switch (format.kind) {
            case LayoutKind::kBoolean:
                return need(1, bitmap_bytes(end()), "values");
            case LayoutKind::kFixedWidth:
                return need_product(1, end(), format.width, "values");
            case LayoutKind::kVariableBinary:
            case LayoutKind::kList:
                // An empty array may leave out its offsets; otherwise there are end + 1.
                return end() == 0 ? Result<>{}
                                  : need_product(1, end() + 1, format.width, "offsets");
            case LayoutKind::kNull:
            case LayoutKind::kFixedSizeList:
            case LayoutKind::kStruct:
                return {};
        }
        return {};
    }

    Result<> check_children(const FormatInfo& format, const NodePath& path, int depth) const {
        const size_t n = info_->children.size();
        const bool one_child =
            format.kind == LayoutKind::kList || format.kind == LayoutKind::kFixedSizeList;
        if (one_child ? n != 1 : (format.kind != LayoutKind::kStruct && n != 0)) {
            return error("has {} children, the format needs {}", n, one_child ? 1 : 0);
        }
        uint64_t child_length = 0;  // what each child must at least hold
        if (format.kind == LayoutKind::kStruct) {
            child_length = end();
        } else if (format.kind == LayoutKind::kFixedSizeList &&
                   !checked_mul(end(), format.width, child_length)) {
            return error("child length {} * {} overflows", end(), format.width);
        }
        for (size_t i = 0; i < n; ++i) {
            const ArrowTypeInfo& child = info_->children[i];
            const NodePath child_path{&path, "children", i};
            if (auto checked = LayoutChecker(data_size_).check(child, child_path, depth + 1);
                !checked) {
                return checked;
            }
            if (static_cast<uint64_t>(child.length) < child_length) {
                return error("child {} has length {}, offset + length of the parent need {}", i,
                             child.length, child_length);
            }
        }
        return {};
    }

    uint64_t data_size_;
    const ArrowTypeInfo* info_ = nullptr;
    const NodePath* path_ = nullptr;
};

}  // namespace

Result<> check_layout(const ArrowTypeInfo& info, uint64_t data_size) {
    const NodePath root;
    return LayoutChecker(data_size).check(info, root, 0);
}

}  // namespace dora::message
