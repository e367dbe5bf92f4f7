// A restricted unpickler: Python's pickle machine (protocols 2 to 5) that builds
// plain values and never executes anything. Globals, calls (REDUCE), persistent ids
// and BUILD are handed to the caller's Hooks, which allow a short list of names and
// build what they stand for; every other global is refused when it is named.
//
//   pickle_reader reader(bytes, "f.bin: data.pkl");
//   pickle_reader::id root = reader.run(hooks);   // hooks: see run()
//
// Values live in one arena and refer to each other by index, so nothing is
// reference-counted or freed recursively: shared and even cyclic values (a list
// appended to itself through the memo) cost nothing. Bounded by pickle_limits:
// values, stack, memo and nesting depth; every length is checked against the bytes
// that remain before anything is read or allocated.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt::io {

struct pickle_limits {
    std::size_t max_values = std::size_t(1) << 21;  // ~15 per tensor of a state dict
    std::size_t max_stack = std::size_t(1) << 20;  // values, and marks apart
    std::size_t max_memo = std::size_t(1) << 20;
    std::size_t max_depth = 32;  // tuples, lists and dicts inside each other
};

struct pickle_value {
    enum class kind { none, boolean, integer, floating, string, tuple, list, dict, global, object };
    kind type = kind::none;
    std::int64_t integer = 0;   // integer, boolean; object: the hooks' own number for it
    double floating = 0;
    std::string text;           // string (str or bytes); global: "module.name"; object: what it is
    std::vector<std::size_t> items;  // tuple, list: elements; dict: key, value, key, value...
    std::size_t depth = 0;
};

inline const char* pickle_kind_name(pickle_value::kind k) {
    switch (k) {
        case pickle_value::kind::none: return "None";
        case pickle_value::kind::boolean: return "bool";
        case pickle_value::kind::integer: return "int";
        case pickle_value::kind::floating: return "float";
        case pickle_value::kind::string: return "str";
        case pickle_value::kind::tuple: return "tuple";
        case pickle_value::kind::list: return "list";
        case pickle_value::kind::dict: return "dict";
        case pickle_value::kind::global: return "global";
        case pickle_value::kind::object: return "object";
    }
    return "?";
}

class pickle_reader {
public:
    using id = std::size_t;
    using kind = pickle_value::kind;

    // `where` names the pickle in messages ("model.bin: archive/data.pkl").
    pickle_reader(std::string bytes, std::string where, pickle_limits limits = {})
        : bytes_(std::move(bytes)), where_(std::move(where)), limits_(limits) {}

    const pickle_value& at(id v) const { return values_[v]; }
    const std::string& where() const { return where_; }
    // The byte offset of the opcode being run, for messages.
    std::size_t offset() const { return op_at_; }

    id make(pickle_value v) {
        if (values_.size() >= limits_.max_values) bad("more than ", limits_.max_values, " values");
        values_.push_back(std::move(v));
        return values_.size() - 1;
    }
    id make_object(std::string what, std::int64_t number) {
        pickle_value v;
        v.type = kind::object;
        v.text = std::move(what);
        v.integer = number;
        return make(std::move(v));
    }
    id make_dict() {
        pickle_value v;
        v.type = kind::dict;
        return make(std::move(v));
    }

    template <class... Parts>
    [[noreturn]] void bad(Parts&&... parts) const {
        fail<format_error>(where_, " byte ", op_at_, ": ", std::forward<Parts>(parts)...);
    }

    // Runs the pickle to its STOP and returns the value it ends with. Hooks has
    //   bool allow(const std::string& module, const std::string& name)
    //   id persistent_load(pickle_reader&, id pid)
    //   id reduce(pickle_reader&, id callable, id args)      callable is an allowed global
    //   void build(pickle_reader&, id object, id state)
    // and refuses what it does not accept by throwing mmt errors.
    template <class Hooks>
    id run(Hooks& hooks) {
        pos_ = 0;
        while (true) {
            op_at_ = pos_;
            if (pos_ >= bytes_.size()) bad("the pickle ends without STOP: truncated?");
            const unsigned char op = static_cast<unsigned char>(bytes_[pos_++]);
            switch (op) {
                case 0x80: {  // PROTO
                    const auto version = unsigned_le(1);
                    if (version < 2 || version > 5) bad("pickle protocol ", version, ", expected 2 to 5");
                    break;
                }
                case 0x95: {  // FRAME: a length hint over what follows
                    const auto length = unsigned_le(8);
                    if (length > bytes_.size() - pos_) bad("frame of ", length, " bytes runs past the pickle");
                    break;
                }
                case '.': return top();  // STOP
                case '(': {  // MARK
                    if (marks_.size() >= limits_.max_stack) bad("more than ", limits_.max_stack, " open MARKs");
                    marks_.push_back(stack_.size());
                    break;
                }
                case '0': pop(); break;                            // POP
                case '1': pop_mark(); break;                       // POP_MARK
                case '2': push(top()); break;                      // DUP
                case 'N': push(scalar(kind::none, 0)); break;
                case 0x88: push(scalar(kind::boolean, 1)); break;  // NEWTRUE
                case 0x89: push(scalar(kind::boolean, 0)); break;  // NEWFALSE
                case 'K': push(scalar(kind::integer, std::int64_t(unsigned_le(1)))); break;  // BININT1
                case 'M': push(scalar(kind::integer, std::int64_t(unsigned_le(2)))); break;  // BININT2
                case 'J': push(scalar(kind::integer, std::int64_t(std::int32_t(std::uint32_t(unsigned_le(4)))))); break;
                case 0x8a: {  // LONG1: n bytes, two's complement
                    const auto n = unsigned_le(1);
                    if (n > 8) bad("integer of ", n, " bytes, expected at most 8");
                    std::uint64_t v = unsigned_le(int(n));
                    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1u) v |= ~std::uint64_t(0) << (8 * n);
                    push(scalar(kind::integer, std::int64_t(v)));
                    break;
                }
                case 'G': {  // BINFLOAT, big-endian
                    std::uint64_t bits = 0;
                    for (const unsigned char c : take(8)) bits = (bits << 8) | c;
                    pickle_value v;
                    v.type = kind::floating;
                    std::memcpy(&v.floating, &bits, sizeof bits);
                    push(make(std::move(v)));
                    break;
                }
                case 'X': push(string(unsigned_le(4))); break;     // BINUNICODE
                case 0x8c: push(string(unsigned_le(1))); break;    // SHORT_BINUNICODE
                case 0x8d: push(string(unsigned_le(8))); break;    // BINUNICODE8
                case 'T': push(string(unsigned_le(4))); break;     // BINSTRING
                case 'U': push(string(unsigned_le(1))); break;     // SHORT_BINSTRING
                case 'B': push(string(unsigned_le(4))); break;     // BINBYTES
                case 'C': push(string(unsigned_le(1))); break;     // SHORT_BINBYTES
                case 0x8e: push(string(unsigned_le(8))); break;    // BINBYTES8
                case ')': push(container(kind::tuple, {})); break;  // EMPTY_TUPLE
                case 0x85: push(container(kind::tuple, pop_n(1))); break;  // TUPLE1
                case 0x86: push(container(kind::tuple, pop_n(2))); break;  // TUPLE2
                case 0x87: push(container(kind::tuple, pop_n(3))); break;  // TUPLE3
                case 't': push(container(kind::tuple, pop_mark())); break;  // TUPLE
                case ']': push(container(kind::list, {})); break;   // EMPTY_LIST
                case 'l': push(container(kind::list, pop_mark())); break;  // LIST
                case '}': push(container(kind::dict, {})); break;   // EMPTY_DICT
                case 'd': {  // DICT
                    auto items = pop_mark();
                    if (items.size() % 2) bad("DICT of an odd number (", items.size(), ") of keys and values");
                    push(container(kind::dict, std::move(items)));
                    break;
                }
                case 'a': {  // APPEND
                    const id item = pop();
                    extend(top(), kind::list, {item});
                    break;
                }
                case 'e': {  // APPENDS
                    auto items = pop_mark();
                    extend(top(), kind::list, std::move(items));
                    break;
                }
                case 's': {  // SETITEM
                    const auto value = pop();
                    const auto key = pop();
                    extend(top(), kind::dict, {key, value});
                    break;
                }
                case 'u': {  // SETITEMS
                    auto items = pop_mark();
                    if (items.size() % 2) bad("SETITEMS of an odd number (", items.size(), ") of keys and values");
                    extend(top(), kind::dict, std::move(items));
                    break;
                }
                case 'q': memo_put(unsigned_le(1)); break;   // BINPUT
                case 'r': memo_put(unsigned_le(4)); break;   // LONG_BINPUT
                case 0x94: memo_put(memo_.size()); break;    // MEMOIZE
                case 'h': push(memo_get(unsigned_le(1))); break;  // BINGET
                case 'j': push(memo_get(unsigned_le(4))); break;  // LONG_BINGET
                case 'c': {  // GLOBAL: "module\nname\n"
                    std::string module = line(), name = line();
                    push(global(hooks, std::move(module), std::move(name)));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    const id name = pop(), module = pop();
                    if (at(module).type != kind::string || at(name).type != kind::string)
                        bad("STACK_GLOBAL of a ", pickle_kind_name(at(module).type), " and a ",
                            pickle_kind_name(at(name).type), ", expected two strings");
                    push(global(hooks, at(module).text, at(name).text));
                    break;
                }
                case 'R': {  // REDUCE: callable(*args)
                    const id args = pop(), callable = pop();
                    if (at(callable).type != kind::global) bad("REDUCE calls a ", pickle_kind_name(at(callable).type), ", expected a global");
                    if (at(args).type != kind::tuple) bad("REDUCE of ", at(callable).text, " with ", pickle_kind_name(at(args).type), " arguments, expected a tuple");
                    push(hooks.reduce(*this, callable, args));
                    break;
                }
                case 'Q': {  // BINPERSID
                    const id pid = pop();
                    push(hooks.persistent_load(*this, pid));
                    break;
                }
                case 'b': {  // BUILD: state applied to the object below it
                    const id state = pop();
                    hooks.build(*this, top(), state);
                    break;
                }
                default: bad("pickle opcode 0x", hex(op), " is not supported by this restricted reader");
            }
        }
    }

private:
    static std::string hex(unsigned char op) {
        const char* digits = "0123456789abcdef";
        return {digits[op >> 4], digits[op & 15]};
    }

    std::string_view take(std::size_t n) {
        if (n > bytes_.size() - pos_) bad("an argument of ", n, " bytes runs past the end of the pickle (", bytes_.size(), " bytes): truncated?");
        std::string_view out(bytes_.data() + pos_, n);
        pos_ += n;
        return out;
    }
    std::uint64_t unsigned_le(int n) {
        const std::string_view b = take(std::size_t(n));
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[std::size_t(i)]);
        return v;
    }
    std::string line() {
        const auto end = bytes_.find('\n', pos_);
        if (end == std::string::npos) bad("GLOBAL name without its newline: truncated?");
        std::string out = bytes_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return out;
    }

    id scalar(kind type, std::int64_t v) {
        pickle_value out;
        out.type = type;
        out.integer = v;
        return make(std::move(out));
    }
    id string(std::uint64_t length) {
        pickle_value out;
        out.type = kind::string;
        out.text = std::string(take(length));
        return make(std::move(out));
    }
    id container(kind type, std::vector<id> items) {
        pickle_value out;
        out.type = type;
        out.items = std::move(items);
        for (const id item : out.items) out.depth = std::max(out.depth, at(item).depth + 1);
        if (out.depth > limits_.max_depth) bad("values nested more than ", limits_.max_depth, " deep");
        return make(std::move(out));
    }
    // Adds items to the list or dict `target` (APPEND, SETITEM...).
    void extend(id target, kind type, std::vector<id> items) {
        if (at(target).type != type)
            bad("adds items to a ", pickle_kind_name(at(target).type), ", expected a ", pickle_kind_name(type));
        std::size_t depth = at(target).depth;
        for (const id item : items) depth = std::max(depth, at(item).depth + 1);
        if (depth > limits_.max_depth) bad("values nested more than ", limits_.max_depth, " deep");
        pickle_value& v = values_[target];
        v.depth = depth;
        v.items.insert(v.items.end(), items.begin(), items.end());
    }
    template <class Hooks>
    id global(Hooks& hooks, std::string module, std::string name) {
        if (!hooks.allow(module, name))
            bad("refused global '", module, ".", name, "': only the names PyTorch's tensor rebuild uses are allowed, "
                "and nothing was executed");
        pickle_value v;
        v.type = kind::global;
        v.text = module + "." + name;
        return make(std::move(v));
    }

    void push(id v) {
        if (stack_.size() >= limits_.max_stack) bad("stack deeper than ", limits_.max_stack);
        stack_.push_back(v);
    }
    std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    id top() const {
        if (stack_.size() <= floor()) bad("needs a value, but the stack is empty above its mark");
        return stack_.back();
    }
    id pop() {
        const id v = top();
        stack_.pop_back();
        return v;
    }
    std::vector<id> pop_n(std::size_t n) {
        if (stack_.size() - floor() < n) bad("needs ", n, " values, but the stack holds ", stack_.size() - floor(), " above its mark");
        std::vector<id> out(stack_.end() - std::ptrdiff_t(n), stack_.end());
        stack_.resize(stack_.size() - n);
        return out;
    }
    std::vector<id> pop_mark() {
        if (marks_.empty()) bad("needs a MARK, and there is none");
        const std::size_t mark = marks_.back();
        marks_.pop_back();
        std::vector<id> out(stack_.begin() + std::ptrdiff_t(mark), stack_.end());
        stack_.resize(mark);
        return out;
    }
    void memo_put(std::uint64_t key) {
        if (memo_.size() >= limits_.max_memo && !memo_.count(key)) bad("more than ", limits_.max_memo, " memo entries");
        memo_[key] = top();
    }
    id memo_get(std::uint64_t key) const {
        auto it = memo_.find(key);
        if (it == memo_.end()) bad("memo entry ", key, " was never stored");
        return it->second;
    }

    std::string bytes_;
    std::string where_;
    pickle_limits limits_;
    std::size_t pos_ = 0, op_at_ = 0;
    std::vector<pickle_value> values_;
    std::vector<id> stack_;
    std::vector<std::size_t> marks_;  // stack sizes at each MARK
    std::unordered_map<std::uint64_t, id> memo_;
};

}  // namespace mmt::io
