// pytorch_model.bin: torch.save's zip format (torch >= 1.6), read without Python.
//
//   <prefix>/data.pkl    a pickle (protocol 2) of {name: tensor}, each tensor
//                        torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
//                        and each storage a persistent id
//                        ('storage', torch.<Type>Storage, key, location, numel)
//   <prefix>/data/<key>  that storage's raw little-endian bytes
//   <prefix>/byteorder   "little" (torch >= 2.1; absent means little)
//
// The prefix is "archive" or, in newer torch, the file's stem: it is read from the
// entries. The pickle runs on the restricted reader (pickle.hpp) with PyTorch's
// rebuild names only (allowed_global below); any other global is refused, unrun.
//
// A tensor whose elements are contiguous in its storage (whatever its offset, and
// however many tensors share the storage) is read in place from the file, as a
// safetensors tensor is. A strided view is gathered once, when the file is opened,
// into memory (at most 4 times the file's size in all, which only views repeating
// elements through a zero stride could exceed). The two sets are the two
// tensor_sources of sources().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/byte_source.hpp"
#include "mmt/io/pickle.hpp"
#include "mmt/io/tensor_source.hpp"
#include "mmt/io/zip_archive.hpp"

namespace mmt::io {

struct pytorch_limits {
    std::size_t max_pickle_bytes = std::size_t(64) << 20;
    std::size_t max_rank = 8;
    pickle_limits pickle;
};

class pytorch_checkpoint {
public:
    explicit pytorch_checkpoint(const std::filesystem::path& path, pytorch_limits limits = {})
        : pytorch_checkpoint(std::make_shared<byte_source>(byte_source::open(path)), limits) {}

    // A checkpoint held in memory; `name` stands for its path in messages.
    static pytorch_checkpoint from_bytes(std::string bytes, const std::string& name, pytorch_limits limits = {}) {
        return pytorch_checkpoint(std::make_shared<byte_source>(byte_source::from_bytes(std::move(bytes), name)), limits);
    }

    // The tensors read in place from the file, then the strided views gathered into memory.
    std::array<std::shared_ptr<const tensor_source>, 2> sources() const { return {in_place_, gathered_}; }

private:
    // A storage named by a persistent id.
    struct storage {
        std::string key;
        mmt::dtype dtype;
        std::size_t numel = 0;
    };
    // A tensor rebuilt from a storage: storage[offset + sum(index[i] * stride[i])].
    struct view {
        std::size_t storage = 0;
        std::size_t offset = 0;
        std::vector<std::size_t> size, stride;
    };

    // The pickle's hooks (pickle_reader::run): PyTorch's names and what they build.
    struct rebuild {
        const pytorch_limits& limits;
        std::vector<storage> storages;
        std::map<std::string, std::size_t> storage_by_key;
        std::vector<view> views;

        static const std::map<std::string, mmt::dtype>& storage_types() {
            static const std::map<std::string, mmt::dtype> types = {
                {"DoubleStorage", dtype::f64}, {"FloatStorage", dtype::f32}, {"HalfStorage", dtype::f16},
                {"BFloat16Storage", dtype::bf16}, {"LongStorage", dtype::i64}, {"IntStorage", dtype::i32},
                {"ShortStorage", dtype::i16},    {"CharStorage", dtype::i8},   {"ByteStorage", dtype::u8},
                {"BoolStorage", dtype::boolean}};
            return types;
        }

        bool allow(const std::string& module, const std::string& name) const {
            if (module == "torch._utils")
                return name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" || name == "_rebuild_parameter";
            if (module == "collections") return name == "OrderedDict";
            return module == "torch" && storage_types().count(name) != 0;
        }

        // ('storage', torch.<Type>Storage, key, location, numel)
        pickle_reader::id persistent_load(pickle_reader& r, pickle_reader::id pid) {
            using kind = pickle_value::kind;
            const pickle_value& t = r.at(pid);
            if (t.type != kind::tuple || t.items.size() != 5)
                r.bad("persistent id is a ", pickle_kind_name(t.type), " of ", t.items.size(),
                      " items, expected ('storage', storage type, key, location, numel)");
            const pickle_value &tag = r.at(t.items[0]), &type = r.at(t.items[1]), &key = r.at(t.items[2]),
                               &location = r.at(t.items[3]), &numel = r.at(t.items[4]);
            if (tag.type != kind::string || tag.text != "storage") r.bad("persistent id does not start with 'storage'");
            if (type.type != kind::global || type.text.rfind("torch.", 0) != 0 || !storage_types().count(type.text.substr(6)))
                r.bad("persistent id's storage type is a ", pickle_kind_name(type.type), " '", type.text, "', expected torch.<Type>Storage");
            if (key.type != kind::string || location.type != kind::string)
                r.bad("persistent id's key and location are a ", pickle_kind_name(key.type), " and a ",
                      pickle_kind_name(location.type), ", expected strings");
            if (numel.type != kind::integer) r.bad("storage '", key.text, "': numel is a ", pickle_kind_name(numel.type), ", expected an int");
            if (numel.integer < 0) r.bad("storage '", key.text, "' has ", numel.integer, " elements");
            const mmt::dtype dt = storage_types().at(type.text.substr(6));
            const std::size_t n = static_cast<std::size_t>(numel.integer);
            auto [it, inserted] = storage_by_key.emplace(key.text, storages.size());
            if (inserted) {
                storages.push_back({key.text, dt, n});
            } else if (storages[it->second].dtype != dt || storages[it->second].numel != n) {
                r.bad("storage '", key.text, "' is named again as ", n, " ", dtype_name(dt), " elements; it was ",
                      storages[it->second].numel, " ", dtype_name(storages[it->second].dtype));
            }
            return r.make_object("storage", std::int64_t(it->second));
        }

        pickle_reader::id reduce(pickle_reader& r, pickle_reader::id callable, pickle_reader::id args) {
            using kind = pickle_value::kind;
            const std::string name = r.at(callable).text;
            const std::vector<std::size_t> a = r.at(args).items;
            auto arity = [&](std::size_t lo, std::size_t hi, const char* shape) {
                if (a.size() < lo || a.size() > hi) r.bad(name, " called with ", a.size(), " arguments, expected ", shape);
            };
            if (name == "collections.OrderedDict") {
                arity(0, 0, "none (its items come after)");
                return r.make_dict();
            }
            if (name == "torch._utils._rebuild_parameter") {
                arity(3, 3, "(tensor, requires_grad, backward_hooks)");
                if (!is_tensor(r, a[0])) r.bad(name, " of a ", pickle_kind_name(r.at(a[0]).type), ", expected a tensor");
                return a[0];
            }
            if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
                if (name == "torch._utils._rebuild_tensor") arity(4, 4, "(storage, offset, size, stride)");
                else arity(6, 7, "(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])");
                const pickle_value& s = r.at(a[0]);
                if (s.type != kind::object || s.text != "storage")
                    r.bad(name, " of a ", pickle_kind_name(s.type), ", expected a storage (persistent id)");
                view v;
                v.storage = static_cast<std::size_t>(s.integer);
                v.offset = integer(r, a[1], "storage offset");
                v.size = integers(r, a[2], "size");
                v.stride = integers(r, a[3], "stride");
                if (v.size.size() != v.stride.size())
                    r.bad("tensor of size ", shape_string(v.size), " has stride ", shape_string(v.stride), " of another rank");
                views.push_back(std::move(v));
                return r.make_object("tensor", std::int64_t(views.size() - 1));
            }
            r.bad("global '", name, "' cannot be called");
        }

        // Only an OrderedDict's attributes (a state dict's _metadata) are built, and dropped.
        void build(pickle_reader& r, pickle_reader::id object, pickle_reader::id) const {
            if (r.at(object).type != pickle_value::kind::dict)
                r.bad("BUILD of a ", pickle_kind_name(r.at(object).type), ", expected a dict");
        }

        static bool is_tensor(const pickle_reader& r, pickle_reader::id v) {
            return r.at(v).type == pickle_value::kind::object && r.at(v).text == "tensor";
        }
        static std::size_t integer(pickle_reader& r, pickle_reader::id v, const char* what) {
            const pickle_value& x = r.at(v);
            if (x.type != pickle_value::kind::integer) r.bad("tensor ", what, " is a ", pickle_kind_name(x.type), ", expected an int");
            if (x.integer < 0) r.bad("tensor ", what, " is ", x.integer, ", expected at least 0");
            return static_cast<std::size_t>(x.integer);
        }
        std::vector<std::size_t> integers(pickle_reader& r, pickle_reader::id v, const char* what) const {
            const pickle_value& x = r.at(v);
            if (x.type != pickle_value::kind::tuple) r.bad("tensor ", what, " is a ", pickle_kind_name(x.type), ", expected a tuple");
            if (x.items.size() > limits.max_rank) r.bad("tensor ", what, " has rank ", x.items.size(), ", above the limit of ", limits.max_rank);
            std::vector<std::size_t> out;
            for (const auto item : x.items) out.push_back(integer(r, item, what));
            return out;
        }
    };

    pytorch_checkpoint(std::shared_ptr<byte_source> file, const pytorch_limits& limits)
        : in_place_(std::make_shared<tensor_source>(file)) {
        const std::string where = file->name().string();
        if (!zip_archive::has_signature(*file)) {
            if (is_legacy(*file))
                fail<format_error>(where, ": legacy torch.save format (before torch 1.6); re-save it with torch>=1.6 "
                                          "or convert it to safetensors");
            fail<format_error>(where, ": not a PyTorch checkpoint: expected a zip archive (torch.save, torch >= 1.6)");
        }
        const zip_archive zip(file);
        const std::string prefix = archive_prefix(zip, where);
        if (const zip_entry* order = zip.find(prefix + "byteorder")) {
            const std::string value = order->size <= 16 ? zip.read(*order) : std::to_string(order->size) + " bytes";
            if (value != "little") fail<format_error>(where, ": byteorder is '", value, "', only 'little' is supported");
        }
        const zip_entry& pickle = *zip.find(prefix + "data.pkl");
        if (pickle.size > limits.max_pickle_bytes)
            fail<format_error>(where, ": ", pickle.name, " of ", pickle.size, " bytes exceeds the limit of ", limits.max_pickle_bytes);
        pickle_reader reader(zip.read(pickle), where + ": " + pickle.name, limits.pickle);
        rebuild hooks{limits, {}, {}, {}};
        const pickle_reader::id root = reader.run(hooks);

        const pickle_value& dict = reader.at(root);
        if (dict.type != pickle_value::kind::dict)
            fail<format_error>(where, ": ", pickle.name, " holds a ", pickle_kind_name(dict.type),
                               ", expected a dict of tensors (a state dict)");
        std::string gathered;
        std::vector<tensor_info> strided;
        for (std::size_t i = 0; i < dict.items.size(); i += 2) {
            const pickle_value& key = reader.at(dict.items[i]);
            const pickle_value& value = reader.at(dict.items[i + 1]);
            if (key.type != pickle_value::kind::string)
                fail<format_error>(where, ": state dict key is a ", pickle_kind_name(key.type), ", expected a str");
            if (!rebuild::is_tensor(reader, dict.items[i + 1]))
                fail<format_error>(where, ": state dict entry '", key.text, "' is a ", pickle_kind_name(value.type), ", expected a tensor");
            const view& v = hooks.views[static_cast<std::size_t>(value.integer)];
            const storage& s = hooks.storages[v.storage];
            const zip_entry* data = zip.find(prefix + "data/" + s.key);
            if (!data) fail<format_error>(where, ": tensor '", key.text, "': storage '", s.key, "' has no entry ", prefix, "data/", s.key);
            tensor_info t = place(key.text, v, s, *data, where);
            if (contiguous(v)) {
                in_place_->add(std::move(t));
            } else {
                if (t.nbytes > 4 * file->size() - gathered.size())
                    fail<format_error>(where, ": tensor '", t.name, "': strided views of ", gathered.size() + t.nbytes,
                                       " bytes in all, more than 4 times the file: a view repeats elements (stride 0)?");
                t.begin = gathered.size();
                gathered.resize(gathered.size() + t.nbytes);
                gather(zip, *data, v, dtype_size(s.dtype), gathered.data() + t.begin, t.nbytes);
                strided.push_back(std::move(t));
            }
        }
        auto memory = std::make_shared<tensor_source>(
            std::make_shared<byte_source>(byte_source::from_bytes(std::move(gathered), where + " (strided views)")));
        for (auto& t : strided) {
            if (in_place_->contains(t.name)) fail<format_error>(where, ": tensor '", t.name, "' appears twice");
            memory->add(std::move(t));
        }
        gathered_ = std::move(memory);
    }

    // The legacy format opens with a pickle of torch.save's magic number (LONG1, 10 bytes).
    static bool is_legacy(const byte_source& file) {
        static const unsigned char magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
        if (file.size() < sizeof magic) return false;
        unsigned char head[sizeof magic];
        file.read(0, sizeof magic, head);
        return std::memcmp(head, magic, sizeof magic) == 0;
    }

    // "<prefix>/" from the one entry "<prefix>/data.pkl".
    static std::string archive_prefix(const zip_archive& zip, const std::string& where) {
        std::string prefix;
        std::size_t found = 0;
        for (const auto& e : zip.entries()) {
            const std::string suffix = "/data.pkl";
            const auto slash = e.name.find('/');
            if (slash != std::string::npos && e.name.size() == slash + suffix.size() && e.name.compare(slash, suffix.size(), suffix) == 0) {
                prefix = e.name.substr(0, slash + 1);
                ++found;
            }
        }
        if (found != 1)
            fail<format_error>(where, ": expected one <archive>/data.pkl entry in the zip, found ", found,
                               ": not a torch.save checkpoint (a TorchScript archive?)");
        return prefix;
    }

    // The tensor's bytes if it is contiguous (begin = where its first element lies in
    // the file), after checking that every element it reaches lies in its storage.
    static tensor_info place(const std::string& name, const view& v, const storage& s, const zip_entry& data, const std::string& where) {
        auto bad = [&](auto&&... parts) { fail<format_error>(where, ": tensor '", name, "': ", parts...); };
        const std::size_t element = dtype_size(s.dtype), max = std::numeric_limits<std::size_t>::max();
        if (s.numel > data.size / element)
            bad("storage '", s.key, "' of ", s.numel, " ", dtype_name(s.dtype), " elements needs more than its ", data.size, " bytes");
        tensor_info t;
        t.name = name;
        t.dtype = s.dtype;
        t.shape = v.size;
        std::size_t numel = 1, last = v.offset;  // `last`: the storage index of its last element
        for (std::size_t i = 0; i < v.size.size(); ++i) {
            if (v.size[i] != 0 && numel > max / v.size[i]) bad("size ", shape_string(v.size), " overflows");
            numel *= v.size[i];
            if (v.size[i] == 0) continue;
            if (v.stride[i] != 0 && v.size[i] - 1 > (max - last) / v.stride[i])
                bad("size ", shape_string(v.size), " and stride ", shape_string(v.stride), " overflow");
            last += (v.size[i] - 1) * v.stride[i];
        }
        if (numel > max / element) bad("size ", shape_string(v.size), " overflows");
        if (numel != 0 && last >= s.numel)
            bad("offset ", v.offset, ", size ", shape_string(v.size), " and stride ", shape_string(v.stride),
                " reach element ", last, " of storage '", s.key, "', which holds ", s.numel);
        t.nbytes = numel * element;
        t.begin = numel == 0 ? data.offset : data.offset + v.offset * element;
        return t;
    }

    // Row-major: each stride the product of the sizes after it (dimensions of size 1 aside).
    // An empty tensor holds no bytes, so it is, whatever its strides.
    static bool contiguous(const view& v) {
        for (const std::size_t d : v.size)
            if (d == 0) return true;
        std::size_t expected = 1;
        for (std::size_t i = v.size.size(); i-- > 0;) {
            if (v.size[i] != 1 && v.stride[i] != expected) return false;
            expected *= v.size[i];
        }
        return true;
    }

    // Copies the `nbytes` of strided view `v` in row-major order into `out`. A dense view
    // (a transpose) is read in one piece, the span of its storage it reaches; a sparse one
    // element by element, so that a few elements far apart do not read all between them.
    static void gather(const zip_archive& zip, const zip_entry& data, const view& v, std::size_t element, char* out, std::size_t nbytes) {
        std::size_t last = v.offset;
        for (std::size_t i = 0; i < v.size.size(); ++i) last += (v.size[i] - 1) * v.stride[i];
        const std::size_t span_bytes = (last - v.offset + 1) * element, first = data.offset + v.offset * element;
        std::string span;
        if (span_bytes <= 2 * nbytes) {
            span.resize(span_bytes);
            zip.file().read(first, span_bytes, span.data());
        }
        std::vector<std::size_t> index(v.size.size(), 0);
        std::size_t at = 0;  // element index from the view's first
        for (char* dst = out;; dst += element) {
            if (span.empty()) zip.file().read(first + at * element, element, dst);
            else std::memcpy(dst, span.data() + at * element, element);
            std::size_t d = v.size.size();
            while (d-- > 0) {
                if (++index[d] < v.size[d]) {
                    at += v.stride[d];
                    break;
                }
                at -= (v.size[d] - 1) * v.stride[d];
                index[d] = 0;
            }
            if (d == std::size_t(-1)) return;
        }
    }

    std::shared_ptr<tensor_source> in_place_;
    std::shared_ptr<const tensor_source> gathered_;
};

}  // namespace mmt::io
