#include "dcos/replicated_log/types.hpp"

#include "dcos/replicated_log/messages.hpp"

namespace dcos::replicated_log {

bool same_value(const Action& a, const Action& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ActionType::nop: return a.tombstone == b.tombstone;
    case ActionType::append: return a.bytes == b.bytes;
    case ActionType::truncate: return a.to == b.to;
  }
  return false;
}

Action nop_value(Position position) {
  Action action;
  action.position = position;
  action.type = ActionType::nop;
  return action;
}

Action append_value(Position position, std::string bytes) {
  Action action;
  action.position = position;
  action.type = ActionType::append;
  action.bytes = std::move(bytes);
  return action;
}

Action truncate_value(Position position, Position to) {
  Action action;
  action.position = position;
  action.type = ActionType::truncate;
  action.to = to;
  return action;
}

std::string_view to_string(Status status) {
  switch (status) {
    case Status::empty: return "EMPTY";
    case Status::starting: return "STARTING";
    case Status::recovering: return "RECOVERING";
    case Status::voting: return "VOTING";
  }
  return "UNKNOWN";
}

std::string_view to_string(ActionType type) {
  switch (type) {
    case ActionType::nop: return "NOP";
    case ActionType::append: return "APPEND";
    case ActionType::truncate: return "TRUNCATE";
  }
  return "UNKNOWN";
}

std::string_view message_name(const Message& message) {
  struct Visitor {
    std::string_view operator()(const PromiseRequest&) const { return "promise_request"; }
    std::string_view operator()(const PromiseResponse&) const { return "promise_response"; }
    std::string_view operator()(const WriteRequest&) const { return "write_request"; }
    std::string_view operator()(const WriteResponse&) const { return "write_response"; }
    std::string_view operator()(const LearnedMessage&) const { return "learned"; }
    std::string_view operator()(const RecoverRequest&) const { return "recover_request"; }
    std::string_view operator()(const RecoverResponse&) const { return "recover_response"; }
    std::string_view operator()(const FetchRequest&) const { return "fetch_request"; }
    std::string_view operator()(const FetchResponse&) const { return "fetch_response"; }
  };
  return std::visit(Visitor{}, message);
}

}  // namespace dcos::replicated_log
