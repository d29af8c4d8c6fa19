#include "core/shell_words.hpp"

#include <cstdlib>

namespace dora {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// Characters a backslash escapes inside double quotes (POSIX 2.2.3).
bool escapable_in_double_quotes(char c) {
    return c == '$' || c == '`' || c == '"' || c == '\\' || c == '\n';
}

class WordSplitter {
  public:
    explicit WordSplitter(std::string_view text) : text_(text) {}

    Result<std::vector<std::string>> run() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (is_blank(c)) {
                finish_word();
                ++pos_;
                continue;
            }
            in_word_ = true;
            Result<> step = c == '\''   ? single_quoted()
                            : c == '"'  ? double_quoted()
                            : c == '\\' ? escaped()
                                        : literal(c);
            if (!step) return fail(step.error());
        }
        finish_word();
        return std::move(words_);
    }

  private:
    void finish_word() {
        if (in_word_) words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
    }

    Result<> literal(char c) {
        word_.push_back(c);
        ++pos_;
        return {};
    }

    Result<> escaped() {
        size_t start = pos_++;
        if (pos_ >= text_.size()) {
            return fail("trailing backslash at position {}; write \\\\ for a literal backslash",
                        start + 1);
        }
        // Backslash-newline is a line continuation: both disappear.
        if (text_[pos_] != '\n') word_.push_back(text_[pos_]);
        ++pos_;
        return {};
    }

    Result<> single_quoted() {
        size_t start = pos_++;
        size_t end = text_.find('\'', pos_);
        if (end == std::string_view::npos) {
            return fail("unterminated single quote at position {}; add the closing '", start + 1);
        }
        word_.append(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return {};
    }

    Result<> double_quoted() {
        size_t start = pos_++;
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"') return {};
            if (c == '\\' && pos_ < text_.size() && escapable_in_double_quotes(text_[pos_])) {
                if (text_[pos_] != '\n') word_.push_back(text_[pos_]);
                ++pos_;
                continue;
            }
            word_.push_back(c);
        }
        return fail("unterminated double quote at position {}; add the closing \"", start + 1);
    }

    std::string_view text_;
    size_t pos_ = 0;
    std::vector<std::string> words_;
    std::string word_;
    bool in_word_ = false;  // a word has started, even if empty so far ('' is an empty word)
};

}  // namespace

Result<std::vector<std::string>> split_shell_words(std::string_view text) {
    return WordSplitter(text).run();
}

Result<std::string> expand_env(std::string_view value, const EnvLookup& lookup) {
    std::string out;
    out.reserve(value.size());
    size_t pos = 0;
    while (pos < value.size()) {
        char c = value[pos];
        bool braced = c == '$' && pos + 1 < value.size() && value[pos + 1] == '{';
        bool bare = c == '$' && pos + 1 < value.size() && is_name_start(value[pos + 1]);
        if (!braced && !bare) {
            out.push_back(c);
            ++pos;
            continue;
        }
        size_t dollar = pos;
        std::string_view name;
        if (braced) {
            size_t close = value.find('}', pos + 2);
            if (close == std::string_view::npos) {
                return fail("unterminated ${{ at position {}; add the closing }}", dollar + 1);
            }
            name = value.substr(pos + 2, close - pos - 2);
            bool valid = !name.empty() && is_name_start(name[0]);
            for (char n : name) valid = valid && is_name_char(n);
            if (!valid) {
                return fail(
                    "invalid variable name \"{}\" in ${{...}} at position {}; names are "
                    "letters, digits and _ and do not start with a digit",
                    name, dollar + 1);
            }
            pos = close + 1;
        } else {
            size_t end = pos + 1;
            while (end < value.size() && is_name_char(value[end])) ++end;
            name = value.substr(pos + 1, end - pos - 1);
            pos = end;
        }
        if (auto found = lookup(name)) out += *found;
    }
    return out;
}

std::optional<std::string> process_env_lookup(std::string_view name) {
    const char* found = std::getenv(std::string(name).c_str());
    if (found == nullptr) return std::nullopt;
    return std::string(found);
}

}  // namespace dora
