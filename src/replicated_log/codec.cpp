#include "dcos/replicated_log/codec.hpp"

#include <fmt/format.h>

namespace dcos::replicated_log {
namespace {

constexpr std::uint8_t version = 1;

// Action flags.
constexpr std::uint8_t flag_learned = 1;
constexpr std::uint8_t flag_performed = 2;
constexpr std::uint8_t flag_tombstone = 4;

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}
void put_byte(std::string& out, std::uint8_t value) { out.push_back(static_cast<char>(value)); }
void put_bytes(std::string& out, std::string_view bytes) {
  put_varint(out, bytes.size());
  out.append(bytes);
}
void put_proposal(std::string& out, Proposal p) {
  put_varint(out, p.round);
  put_varint(out, p.proposer);
}

// Reads fields in order; the first short or malformed read makes `ok` false for good.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  std::uint8_t byte() {
    if (in_.empty()) return bad();
    const auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return bad();
      const auto b = static_cast<std::uint8_t>(in_.front());
      in_.remove_prefix(1);
      value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return value;
    }
    return bad();
  }
  std::string bytes() {
    const std::uint64_t n = varint();
    if (!ok_ || n > in_.size()) return bad(), std::string{};
    std::string out(in_.substr(0, n));
    in_.remove_prefix(n);
    return out;
  }
  Proposal proposal() {
    Proposal p;
    p.round = varint();
    p.proposer = varint();
    return p;
  }

 private:
  std::uint8_t bad() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  std::string_view in_;
  bool ok_ = true;
};

void put_action(std::string& out, const Action& action) {
  std::uint8_t flags = 0;
  if (action.learned) flags |= flag_learned;
  if (action.performed) flags |= flag_performed;
  if (action.tombstone) flags |= flag_tombstone;
  put_varint(out, action.position);
  put_byte(out, flags);
  put_byte(out, static_cast<std::uint8_t>(action.type));
  put_proposal(out, action.promised);
  if (action.performed) put_proposal(out, *action.performed);
  if (action.type == ActionType::append) put_bytes(out, action.bytes);
  if (action.type == ActionType::truncate) put_varint(out, action.to);
}

bool get_action(Reader& in, Action& action) {
  action.position = in.varint();
  const std::uint8_t flags = in.byte();
  const std::uint8_t type = in.byte();
  if (type > static_cast<std::uint8_t>(ActionType::truncate)) return false;
  action.type = static_cast<ActionType>(type);
  action.learned = (flags & flag_learned) != 0;
  action.tombstone = (flags & flag_tombstone) != 0;
  action.promised = in.proposal();
  if (flags & flag_performed) action.performed = in.proposal();
  if (action.type == ActionType::append) action.bytes = in.bytes();
  if (action.type == ActionType::truncate) action.to = in.varint();
  return in.ok();
}

bool get_status(Reader& in, Status& status) {
  const std::uint8_t s = in.byte();
  if (s > static_cast<std::uint8_t>(Status::voting)) return false;
  status = static_cast<Status>(s);
  return in.ok();
}

bool get_verdict(Reader& in, Verdict& verdict) {
  const std::uint8_t v = in.byte();
  if (v > static_cast<std::uint8_t>(Verdict::ignored)) return false;
  verdict = static_cast<Verdict>(v);
  return in.ok();
}

// Message tags on the wire: the index in `Message`.
struct PutMessage {
  std::string& out;
  void operator()(const PromiseRequest& m) const {
    put_proposal(out, m.proposal);
    put_byte(out, m.position ? 1 : 0);
    if (m.position) put_varint(out, *m.position);
  }
  void operator()(const PromiseResponse& m) const {
    put_byte(out, static_cast<std::uint8_t>(m.verdict));
    put_proposal(out, m.proposal);
    put_proposal(out, m.promised);
    put_byte(out, (m.position ? 1 : 0) | (m.action ? 2 : 0));
    if (m.position) put_varint(out, *m.position);
    put_varint(out, m.end);
    if (m.action) put_action(out, *m.action);
  }
  void operator()(const WriteRequest& m) const {
    put_proposal(out, m.proposal);
    put_action(out, m.action);
  }
  void operator()(const WriteResponse& m) const {
    put_byte(out, static_cast<std::uint8_t>(m.verdict));
    put_proposal(out, m.proposal);
    put_proposal(out, m.promised);
    put_varint(out, m.position);
  }
  void operator()(const LearnedMessage& m) const { put_action(out, m.action); }
  void operator()(const RecoverRequest& m) const { put_varint(out, m.nonce); }
  void operator()(const RecoverResponse& m) const {
    put_varint(out, m.nonce);
    put_byte(out, static_cast<std::uint8_t>(m.status));
    put_varint(out, m.begin);
    put_varint(out, m.end);
    put_proposal(out, m.promised);
  }
  void operator()(const FetchRequest& m) const {
    put_varint(out, m.nonce);
    put_varint(out, m.from);
    put_varint(out, m.to);
  }
  void operator()(const FetchResponse& m) const {
    put_varint(out, m.nonce);
    put_varint(out, m.from);
    put_varint(out, m.to);
    put_varint(out, m.begin);
    put_varint(out, m.actions.size());
    for (const Action& a : m.actions) put_action(out, a);
  }
};

bool get_message(Reader& in, std::uint8_t tag, Message& message) {
  switch (tag) {
    case 0: {
      PromiseRequest m;
      m.proposal = in.proposal();
      if (in.byte() != 0) m.position = in.varint();
      message = m;
      break;
    }
    case 1: {
      PromiseResponse m;
      if (!get_verdict(in, m.verdict)) return false;
      m.proposal = in.proposal();
      m.promised = in.proposal();
      const std::uint8_t present = in.byte();
      if (present & 1) m.position = in.varint();
      m.end = in.varint();
      if (present & 2) {
        Action action;
        if (!get_action(in, action)) return false;
        m.action = std::move(action);
      }
      message = std::move(m);
      break;
    }
    case 2: {
      WriteRequest m;
      m.proposal = in.proposal();
      if (!get_action(in, m.action)) return false;
      message = std::move(m);
      break;
    }
    case 3: {
      WriteResponse m;
      if (!get_verdict(in, m.verdict)) return false;
      m.proposal = in.proposal();
      m.promised = in.proposal();
      m.position = in.varint();
      message = m;
      break;
    }
    case 4: {
      LearnedMessage m;
      if (!get_action(in, m.action)) return false;
      message = std::move(m);
      break;
    }
    case 5:
      message = RecoverRequest{in.varint()};
      break;
    case 6: {
      RecoverResponse m;
      m.nonce = in.varint();
      if (!get_status(in, m.status)) return false;
      m.begin = in.varint();
      m.end = in.varint();
      m.promised = in.proposal();
      message = m;
      break;
    }
    case 7: {
      FetchRequest m;
      m.nonce = in.varint();
      m.from = in.varint();
      m.to = in.varint();
      message = m;
      break;
    }
    case 8: {
      FetchResponse m;
      m.nonce = in.varint();
      m.from = in.varint();
      m.to = in.varint();
      m.begin = in.varint();
      const std::uint64_t count = in.varint();
      if (!in.ok() || count > (1u << 24)) return false;
      m.actions.resize(count);
      for (Action& a : m.actions) {
        if (!get_action(in, a)) return false;
      }
      message = std::move(m);
      break;
    }
    default:
      return false;
  }
  return in.ok();
}

}  // namespace

std::string encode(const Action& action) {
  std::string out;
  out.reserve(action.bytes.size() + 32);
  put_byte(out, version);
  put_action(out, action);
  return out;
}

Result<Action> decode_action(std::string_view bytes) {
  Reader in(bytes);
  Action action;
  if (in.byte() != version || !get_action(in, action) || !in.at_end()) {
    return fail(Errc::corruption, fmt::format("decode action: {} bad bytes", bytes.size()));
  }
  return action;
}

std::string encode(const Metadata& metadata) {
  std::string out;
  put_byte(out, version);
  put_byte(out, static_cast<std::uint8_t>(metadata.status));
  put_proposal(out, metadata.promised);
  return out;
}

Result<Metadata> decode_metadata(std::string_view bytes) {
  Reader in(bytes);
  Metadata metadata;
  if (in.byte() != version || !get_status(in, metadata.status)) {
    return fail(Errc::corruption, "decode metadata: bad bytes");
  }
  metadata.promised = in.proposal();
  if (!in.ok() || !in.at_end()) return fail(Errc::corruption, "decode metadata: bad bytes");
  return metadata;
}

void encode(const Envelope& envelope, std::string& out) {
  put_byte(out, version);
  put_varint(out, envelope.from.node.value);
  put_byte(out, static_cast<std::uint8_t>(envelope.from.port));
  put_varint(out, envelope.to.node.value);
  put_byte(out, static_cast<std::uint8_t>(envelope.to.port));
  put_byte(out, static_cast<std::uint8_t>(envelope.message.index()));
  std::visit(PutMessage{out}, envelope.message);
}

std::string encode(const Envelope& envelope) {
  std::string out;
  encode(envelope, out);
  return out;
}

Result<Envelope> decode_envelope(std::string_view bytes) {
  Reader in(bytes);
  Envelope envelope;
  const auto port = [&](Port& p) {
    const std::uint8_t b = in.byte();
    if (b > static_cast<std::uint8_t>(Port::catch_up)) return false;
    p = static_cast<Port>(b);
    return true;
  };
  const auto bad = [&] { return fail(Errc::corruption, fmt::format("decode message: {} bad bytes", bytes.size())); };
  if (in.byte() != version) return bad();
  envelope.from.node.value = static_cast<std::uint32_t>(in.varint());
  if (!port(envelope.from.port)) return bad();
  envelope.to.node.value = static_cast<std::uint32_t>(in.varint());
  if (!port(envelope.to.port)) return bad();
  const std::uint8_t tag = in.byte();
  if (!in.ok() || !get_message(in, tag, envelope.message) || !in.at_end()) return bad();
  return envelope;
}

std::string action_key(Position position) {
  std::string key(9, '\0');
  key[0] = 'a';
  for (int i = 0; i < 8; ++i) key[1 + i] = static_cast<char>((position >> (56 - 8 * i)) & 0xff);
  return key;
}

std::string_view metadata_key() { return "m"; }

std::optional<Position> position_of_key(std::string_view key) {
  if (key.size() != 9 || key[0] != 'a') return std::nullopt;
  Position position = 0;
  for (int i = 0; i < 8; ++i) position = (position << 8) | static_cast<std::uint8_t>(key[1 + i]);
  return position;
}

}  // namespace dcos::replicated_log
