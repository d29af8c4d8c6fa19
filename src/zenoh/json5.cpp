#include "zenoh/json5.hpp"

#include <cmath>
#include <limits>

#include "zenoh/codec.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

const Json5Value* Json5Value::find(std::string_view key) const {
    const auto* obj = as_object();
    if (obj == nullptr) {
        return nullptr;
    }
    const Json5Value* found = nullptr;
    for (const auto& [k, v] : *obj) {
        if (k == key) {
            found = &v;
        }
    }
    return found;
}

std::string_view Json5Value::type_name() const {
    switch (data.index()) {
        case 0:
            return "null";
        case 1:
            return "boolean";
        case 2:
            return "number";
        case 3:
            return "string";
        case 4:
            return "array";
        default:
            return "object";
    }
}

namespace {

bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

class Parser {
  public:
    Parser(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {}

    Result<Json5Value> document() {
        DORA_ZTRY(value, parse_value(0));
        DORA_ZCHECK(skip_space());
        if (pos_ < text_.size()) {
            return error("unexpected text after the value");
        }
        return value;
    }

  private:
    tl::unexpected<Error> error(std::string_view what) const {
        return fail("{}:{}:{}: {}", origin_, line_, column(), what);
    }
    int column() const { return static_cast<int>(pos_ - line_start_) + 1; }
    bool at_end() const { return pos_ >= text_.size(); }
    char peek(size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }
    void advance() {
        if (text_[pos_] == '\n') {
            ++line_;
            line_start_ = pos_ + 1;
        }
        ++pos_;
    }

    Result<> skip_space() {
        while (!at_end()) {
            char c = peek();
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                advance();
            } else if (c == '/' && peek(1) == '/') {
                while (!at_end() && peek() != '\n') {
                    advance();
                }
            } else if (c == '/' && peek(1) == '*') {
                advance();
                advance();
                while (!(peek() == '*' && peek(1) == '/')) {
                    if (at_end()) {
                        return error("unterminated /* comment");
                    }
                    advance();
                }
                advance();
                advance();
            } else {
                break;
            }
        }
        return {};
    }

    Result<Json5Value> parse_value(int depth) {
        if (depth > kJson5MaxDepth) {
            return error("nesting deeper than 64 levels");
        }
        DORA_ZCHECK(skip_space());
        Json5Value v;
        v.line = line_;
        v.column = column();
        if (at_end()) {
            return error("unexpected end of input, expected a value");
        }
        char c = peek();
        if (c == '{') {
            DORA_ZTRY(obj, parse_object(depth));
            v.data = std::move(obj);
        } else if (c == '[') {
            DORA_ZTRY(arr, parse_array(depth));
            v.data = std::move(arr);
        } else if (c == '"' || c == '\'') {
            DORA_ZTRY(s, parse_string());
            v.data = std::move(s);
        } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || c == 'I' ||
                   c == 'N') {
            DORA_ZTRY(n, parse_number());
            v.data = n;
        } else if (text_.substr(pos_).starts_with("true")) {
            pos_ += 4;
            v.data = true;
        } else if (text_.substr(pos_).starts_with("false")) {
            pos_ += 5;
            v.data = false;
        } else if (text_.substr(pos_).starts_with("null")) {
            pos_ += 4;
            v.data = Json5Value::Null{};
        } else {
            return error(fmt::format("unexpected character '{}'", c));
        }
        return v;
    }

    Result<Json5Object> parse_object(int depth) {
        advance();  // {
        Json5Object obj;
        for (;;) {
            DORA_ZCHECK(skip_space());
            if (peek() == '}') {
                advance();
                return obj;
            }
            DORA_ZTRY(key, parse_key());
            DORA_ZCHECK(skip_space());
            if (peek() != ':') {
                return error(fmt::format("expected ':' after key '{}'", key));
            }
            advance();
            DORA_ZTRY(value, parse_value(depth + 1));
            obj.push_back(Json5Member{std::move(key), std::move(value)});
            DORA_ZCHECK(skip_space());
            if (peek() == ',') {
                advance();
            } else if (peek() != '}') {
                return error("expected ',' or '}' in object");
            }
        }
    }

    Result<Json5Array> parse_array(int depth) {
        advance();  // [
        Json5Array arr;
        for (;;) {
            DORA_ZCHECK(skip_space());
            if (peek() == ']') {
                advance();
                return arr;
            }
            DORA_ZTRY(value, parse_value(depth + 1));
            arr.push_back(std::move(value));
            DORA_ZCHECK(skip_space());
            if (peek() == ',') {
                advance();
            } else if (peek() != ']') {
                return error("expected ',' or ']' in array");
            }
        }
    }

    Result<std::string> parse_key() {
        if (peek() == '"' || peek() == '\'') {
            return parse_string();
        }
        if (!is_ident_start(peek())) {
            return error("expected a key (identifier or string)");
        }
        size_t start = pos_;
        while (!at_end() && is_ident_char(peek())) {
            advance();
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    Result<std::string> parse_string() {
        char quote = peek();
        advance();
        std::string out;
        for (;;) {
            if (at_end()) {
                return error("unterminated string");
            }
            char c = peek();
            if (c == quote) {
                advance();
                return out;
            }
            if (c == '\n') {
                return error("newline inside a string (escape it with '\\')");
            }
            if (c != '\\') {
                out.push_back(c);
                advance();
                continue;
            }
            advance();
            if (at_end()) {
                return error("unterminated string");
            }
            DORA_ZCHECK(escape(out));
        }
    }

    Result<> escape(std::string& out) {
        char e = peek();
        advance();
        switch (e) {
            case 'n':
                out.push_back('\n');
                return {};
            case 't':
                out.push_back('\t');
                return {};
            case 'r':
                out.push_back('\r');
                return {};
            case 'b':
                out.push_back('\b');
                return {};
            case 'f':
                out.push_back('\f');
                return {};
            case 'v':
                out.push_back('\v');
                return {};
            case '0':
                out.push_back('\0');
                return {};
            case '\n':
                return {};  // line continuation
            case '\r':
                if (peek() == '\n') {
                    advance();
                }
                return {};
            case 'x':
            case 'u': {
                int digits = e == 'x' ? 2 : 4;
                uint32_t cp = 0;
                for (int i = 0; i < digits; ++i) {
                    int d = hex_digit(peek());
                    if (d < 0) {
                        return error("bad hex digit in escape");
                    }
                    cp = cp << 4 | static_cast<uint32_t>(d);
                    advance();
                }
                append_utf8(out, cp);
                return {};
            }
            default:
                out.push_back(e);
                return {};
        }
    }

    Result<Json5Value::Number> parse_number() {
        size_t start = pos_;
        bool negative = false;
        if (peek() == '+' || peek() == '-') {
            negative = peek() == '-';
            advance();
        }
        Json5Value::Number n;
        auto word = text_.substr(pos_);
        if (word.starts_with("Infinity")) {
            pos_ += 8;
            n.value = negative ? -std::numeric_limits<double>::infinity()
                               : std::numeric_limits<double>::infinity();
            return n;
        }
        if (word.starts_with("NaN")) {
            pos_ += 3;
            n.value = std::numeric_limits<double>::quiet_NaN();
            return n;
        }
        if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
            advance();
            advance();
            uint64_t v = 0;
            size_t digits = 0;
            for (; hex_digit(peek()) >= 0; ++digits) {
                if (v >> 60 != 0) {
                    return error("hex number too large");
                }
                v = v << 4 | static_cast<uint64_t>(hex_digit(peek()));
                advance();
            }
            if (digits == 0) {
                return error("hex number without digits");
            }
            if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                return error("hex number too large");
            }
            n.is_integer = true;
            n.integer = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
            n.value = static_cast<double>(n.integer);
            return n;
        }
        bool integer = true;
        size_t digits = 0;
        while ((peek() >= '0' && peek() <= '9') || peek() == '.' || peek() == 'e' ||
               peek() == 'E' ||
               ((peek() == '+' || peek() == '-') && (text_[pos_ - 1] | 0x20) == 'e')) {
            if (peek() >= '0' && peek() <= '9') {
                ++digits;
            } else {
                integer = false;
            }
            advance();
        }
        if (digits == 0) {
            return error("number without digits");
        }
        std::string token(text_.substr(start, pos_ - start));
        char* end = nullptr;
        n.value = std::strtod(token.c_str(), &end);
        if (end != token.c_str() + token.size()) {
            return error(fmt::format("malformed number '{}'", token));
        }
        if (integer && std::fabs(n.value) < 9.2e18) {
            n.is_integer = true;
            n.integer = std::strtoll(token.c_str(), nullptr, 10);
        }
        return n;
    }

    std::string_view text_;
    std::string_view origin_;
    size_t pos_ = 0;
    int line_ = 1;
    size_t line_start_ = 0;
};

}  // namespace

Result<Json5Value> parse_json5(std::string_view text, std::string_view origin) {
    Parser parser(text, origin);
    return parser.document();
}

}  // namespace dora::zenoh
