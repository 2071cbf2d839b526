#include "launch/result_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/file_io.h"
#include "common/temp_dir.h"

namespace migctl {
namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

using namespace std::chrono_literals;

std::chrono::system_clock::time_point At(std::chrono::sys_days day,
                                         std::chrono::system_clock::duration since_midnight) {
  return std::chrono::system_clock::time_point(day) + since_midnight;
}

TaskResult Sample() {
  TaskResult r;
  r.task = 3;
  r.attempt = 2;
  r.final = false;
  r.command = "python train.py --lr 1e-3";
  r.params = {{"lr", "1e-3"}};
  r.worker = 1;
  r.device = "MIG-5c89852c-d268-c3f3-a2f8-9b1a2e1b4c36";
  r.gpu = 0;
  r.profile = "3g.40gb";
  r.status = TaskStatus::kKilled;
  r.signal = SIGKILL;
  r.start = At(std::chrono::sys_days(std::chrono::year(2026) / 11 / 21), 10h + 123ms);
  r.duration_s = 12.5;
  r.log = "logs/task-3.log";
  r.output = Json{{"loss", 0.25}};
  r.error = "killed after --timeout 10s";
  return r;
}

TaskResult Finished(unsigned task, std::string command, TaskStatus status = TaskStatus::kOk) {
  TaskResult r;
  r.task = task;
  r.command = std::move(command);
  r.status = status;
  r.exit_status = status == TaskStatus::kOk ? 0 : 1;
  return r;
}

std::vector<Task> Tasks(std::vector<std::string> commands) {
  std::vector<Task> tasks;
  for (std::string& command : commands) {
    Task t;
    t.id = static_cast<unsigned>(tasks.size() + 1);
    t.command = command;
    t.argv = {command};
    tasks.push_back(std::move(t));
  }
  return tasks;
}

std::vector<unsigned> Ids(const std::vector<Task>& tasks) {
  std::vector<unsigned> ids;
  for (const Task& t : tasks) ids.push_back(t.id);
  return ids;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string Line(const TaskResult& r) { return ResultToJson(r).dump() + "\n"; }

TEST(ResultToJson, WritesVersionedKeysInOrderWithSignalName) {
  const Json j = ResultToJson(Sample());
  EXPECT_EQ(
      j.dump(),
      R"({"v":1,"task":3,"attempt":2,"final":false,"status":"killed","command":"python train.py --lr 1e-3",)"
      R"("params":{"lr":"1e-3"},"worker":1,"device":"MIG-5c89852c-d268-c3f3-a2f8-9b1a2e1b4c36","node":null,"gpu":0,)"
      R"("profile":"3g.40gb","exit_status":null,"signal":9,"signal_name":"SIGKILL",)"
      R"("start":"2026-11-21T10:00:00.123Z","duration_s":12.5,"log":"logs/task-3.log",)"
      R"("output":{"loss":0.25},"error":"killed after --timeout 10s"})");
}

TEST(ResultToJson, NodeFollowsDeviceAndReadsBack) {
  TaskResult r = Sample();
  r.node = "n2";
  const Json j = ResultToJson(r);
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  const auto device = std::find(keys.begin(), keys.end(), "device");
  ASSERT_NE(device, keys.end());
  EXPECT_EQ(*(device + 1), "node");
  EXPECT_EQ(j["node"], "n2");
  Result<TaskResult> back = ResultFromJson(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->node, "n2");
}

TEST(ResultFromJson, JournalsWrittenBeforeNodeExistedReadWithAnEmptyNode) {
  Json old = ResultToJson(Sample());
  old.erase("node");
  Result<TaskResult> back = ResultFromJson(old);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->node, "");
}

TEST(ResultToJson, StatusNames) {
  EXPECT_STREQ(TaskStatusName(TaskStatus::kOk), "ok");
  EXPECT_STREQ(TaskStatusName(TaskStatus::kFailed), "failed");
  EXPECT_STREQ(TaskStatusName(TaskStatus::kKilled), "killed");
  EXPECT_STREQ(TaskStatusName(TaskStatus::kTimedOut), "timeout");
  EXPECT_STREQ(TaskStatusName(TaskStatus::kNotStarted), "not-started");
}

TEST(ResultToJson, OtherSignalNames) {
  TaskResult r = Sample();
  r.signal = SIGTERM;
  EXPECT_EQ(ResultToJson(r)["signal_name"], "SIGTERM");
  r.signal = SIGRTMIN + 2;
  EXPECT_EQ(ResultToJson(r)["signal_name"], "SIGRTMIN+2");
  r.signal = 200;
  EXPECT_EQ(ResultToJson(r)["signal_name"], "signal 200");
  r.signal.reset();
  EXPECT_TRUE(ResultToJson(r)["signal_name"].is_null());
}

void ExpectSame(const TaskResult& a, const TaskResult& b) {
  EXPECT_EQ(a.task, b.task);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.final, b.final);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.worker, b.worker);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.gpu, b.gpu);
  EXPECT_EQ(a.profile, b.profile);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.exit_status, b.exit_status);
  EXPECT_EQ(a.signal, b.signal);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.duration_s, b.duration_s);
  EXPECT_EQ(a.log, b.log);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.error, b.error);
}

TEST(ResultFromJson, ReadsBackWhatWasWritten) {
  for (TaskStatus status : {TaskStatus::kOk, TaskStatus::kFailed, TaskStatus::kKilled, TaskStatus::kTimedOut,
                            TaskStatus::kNotStarted}) {
    TaskResult r = Sample();
    r.status = status;
    auto back = ResultFromJson(Json::parse(ResultToJson(r).dump()));
    ASSERT_TRUE(back.ok()) << back.error().message;
    ExpectSame(*back, r);
  }
  TaskResult minimal = Finished(1, "true");
  auto back = ResultFromJson(ResultToJson(minimal));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ExpectSame(*back, minimal);
}

TEST(ResultFromJson, StartTimesRoundTripToTheMillisecond) {
  const auto base = std::chrono::sys_days(std::chrono::year(1999) / 12 / 31);
  const std::chrono::system_clock::time_point now =
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  for (auto t : {At(base, 23h + 59min + 59s + 999ms), At(base, 0ms),
                 At(base + std::chrono::days(60), 1234567ms), std::chrono::system_clock::time_point{}, now}) {
    TaskResult r = Finished(1, "x");
    r.start = t;
    auto back = ResultFromJson(ResultToJson(r));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->start, t) << ResultToJson(r)["start"];
  }
  TaskResult r = Finished(1, "x");
  r.start = At(base, 1s + 999999us);  // Sub-millisecond precision is cut, not rounded.
  EXPECT_EQ(ResultToJson(r)["start"], "1999-12-31T00:00:01.999Z");
}

TEST(ResultFromJson, AcceptsOtherFractionLengths) {
  Json j = ResultToJson(Finished(1, "x"));
  const auto day = std::chrono::sys_days(std::chrono::year(2026) / 1 / 2);
  for (auto [text, expected] :
       {std::pair{"2026-01-02T03:04:05Z", At(day, 3h + 4min + 5s)},
        std::pair{"2026-01-02T03:04:05.5Z", At(day, 3h + 4min + 5s + 500ms)},
        std::pair{"2026-01-02T03:04:05.123456789Z", At(day, 3h + 4min + 5s + 123ms)}}) {
    j["start"] = text;
    auto r = ResultFromJson(j);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(r->start, expected) << text;
  }
}

TEST(ResultFromJson, UnknownVersionNamesTheKnownOne) {
  Json j = ResultToJson(Sample());
  j["v"] = 2;
  auto r = ResultFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(r.error().message, "version 2 is unknown");
  EXPECT_CONTAINS(r.error().message, "reads version 1");
  j.erase("v");
  r = ResultFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(r.error().message, "no version");
}

TEST(ResultFromJson, MissingRequiredFieldsAreCorrupt) {
  for (const char* key : {"task", "attempt", "final", "status", "command", "start"}) {
    Json j = ResultToJson(Sample());
    j.erase(key);
    auto r = ResultFromJson(j);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
    EXPECT_CONTAINS(r.error().message, fmt::format("no \"{}\"", key));
  }
}

TEST(ResultFromJson, OptionalFieldsDefault) {
  Json j = {{"v", 1},
            {"task", 4},
            {"attempt", 1},
            {"final", true},
            {"status", "ok"},
            {"command", "x"},
            {"start", "2026-11-21T10:00:00.000Z"}};
  auto r = ResultFromJson(j);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->task, 4u);
  EXPECT_FALSE(r->gpu.has_value());
  EXPECT_TRUE(r->output.is_null());
  EXPECT_TRUE(r->params.empty());
}

TEST(ResultFromJson, WrongTypesAndValuesAreCorrupt) {
  struct Case {
    const char* key;
    Json value;
    const char* expected;
  };
  for (const Case& c :
       {Case{"task", "3", "\"task\" has the wrong type"}, Case{"task", -1, "\"task\" has the wrong type"},
        Case{"task", 4294967296ull, "\"task\" has the wrong type"}, Case{"task", 0, "task ids start at 1"},
        Case{"attempt", 0, "attempts start at 1"}, Case{"final", 1, "\"final\" has the wrong type"},
        Case{"status", "done", "status 'done' is unknown"},
        Case{"params", Json{{"lr", 1}}, "\"params\" has the wrong type"},
        Case{"exit_status", 1.5, "\"exit_status\" has the wrong type"},
        Case{"signal", 3000000000ull, "\"signal\" has the wrong type"},
        Case{"gpu", -1, "\"gpu\" has the wrong type"},
        Case{"duration_s", "1s", "\"duration_s\" has the wrong type"},
        Case{"start", "2026-11-21 10:00:00Z", "is not a time"},
        Case{"start", "2026-02-30T10:00:00.000Z", "is not a time"},
        Case{"start", "2026-11-21T10:00:00.000+01:00", "is not a time"},
        Case{"start", "2026-11-21T24:00:00.000Z", "is not a time"}}) {
    Json j = ResultToJson(Sample());
    j[c.key] = c.value;
    auto r = ResultFromJson(j);
    ASSERT_FALSE(r.ok()) << c.key << " = " << c.value;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
    EXPECT_CONTAINS(r.error().message, c.expected);
  }
  auto r = ResultFromJson(Json::array({1}));
  ASSERT_FALSE(r.ok());
  EXPECT_CONTAINS(r.error().message, "must be a JSON object");
}

TEST(JsonFromLastLine, TakesTheLastNonBlankLineWhenItIsAnObjectOrArray) {
  EXPECT_EQ(JsonFromLastLine("epoch 1\nepoch 2\n{\"loss\": 0.1}\n\n  \n"), (Json{{"loss", 0.1}}));
  EXPECT_EQ(JsonFromLastLine("[1, 2]"), Json::parse("[1,2]"));
  EXPECT_EQ(JsonFromLastLine("x\r\n  {\"a\":1}  \r\n"), (Json{{"a", 1}}));
}

TEST(JsonFromLastLine, AnythingElseIsNone) {
  EXPECT_FALSE(JsonFromLastLine(""));
  EXPECT_FALSE(JsonFromLastLine("\n\n"));
  EXPECT_FALSE(JsonFromLastLine("done"));
  EXPECT_FALSE(JsonFromLastLine("42"));
  EXPECT_FALSE(JsonFromLastLine("\"text\""));
  EXPECT_FALSE(JsonFromLastLine("{\"a\": 1}\nbye"));
  EXPECT_FALSE(JsonFromLastLine("{\"a\": 1"));
  EXPECT_FALSE(JsonFromLastLine("{\"a\": 1} trailing"));
}

TEST(ResultLog, AppendsOneLinePerResultAndReadsThemBack) {
  TempDir dir;
  const std::string path = dir.File("results.jsonl");
  {
    auto log = ResultLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ(log->path(), path);
    ASSERT_TRUE(log->Append(Finished(1, "a")).ok());
    ASSERT_TRUE(log->Append(Finished(2, "b", TaskStatus::kFailed)).ok());
  }
  {
    auto log = ResultLog::Open(path);  // Reopening appends.
    ASSERT_TRUE(log.ok()) << log.error().message;
    ASSERT_TRUE(log->Append(Finished(2, "b")).ok());
    ResultLog moved = std::move(*log);
    ASSERT_TRUE(moved.Append(Finished(3, "c", TaskStatus::kTimedOut)).ok());
  }
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, Line(Finished(1, "a")) + Line(Finished(2, "b", TaskStatus::kFailed)) +
                       Line(Finished(2, "b")) + Line(Finished(3, "c", TaskStatus::kTimedOut)));
  auto prior = ReadResults(path);
  ASSERT_TRUE(prior.ok()) << prior.error().message;
  EXPECT_EQ(prior->lines, 4u);
  EXPECT_FALSE(prior->torn_tail);
  EXPECT_EQ(prior->succeeded, (std::set<unsigned>{1, 2}));
  EXPECT_EQ(prior->commands, (std::map<unsigned, std::string>{{1, "a"}, {2, "b"}, {3, "c"}}));
}

TEST(ResultLog, OpenInAMissingDirectoryIsNotFound) {
  TempDir dir;
  auto log = ResultLog::Open(dir.File("no/such/results.jsonl"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(log.error().message, "does not exist");
  EXPECT_CONTAINS(log.error().message, dir.File("no/such"));
}

TEST(ResultLog, OpenADirectoryIsInvalidInput) {
  TempDir dir;
  ASSERT_TRUE(MakeDirectories(dir.File("d")).ok());
  auto log = ResultLog::Open(dir.File("d"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kInvalidInput);
  EXPECT_CONTAINS(log.error().message, dir.File("d") + " is a directory");
}

TEST(ResultLog, PlantedSymlinkOrHardLinkIsRefusedAndItsTargetUntouched) {
  TempDir dir;
  const std::string victim = dir.File("victim");
  std::ofstream(victim) << "root:secret\n";
  ::chmod(victim.c_str(), 0600);
  std::filesystem::create_symlink(victim, dir.File("sym.jsonl"));
  std::filesystem::create_hard_link(victim, dir.File("hard.jsonl"));
  for (const char* name : {"sym.jsonl", "hard.jsonl"}) {
    auto log = ResultLog::Open(dir.File(name));
    ASSERT_FALSE(log.ok()) << name;
    EXPECT_EQ(log.error().code, ErrorCode::kInvalidInput);
    EXPECT_CONTAINS(log.error().message, dir.File(name));
  }
  EXPECT_EQ(*ReadFile(victim), "root:secret\n");
  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(ResultLog, NewFileIs0644WhateverTheUmask) {
  TempDir dir;
  const mode_t old = ::umask(0);
  auto log = ResultLog::Open(dir.File("r.jsonl"));
  ::umask(old);
  ASSERT_TRUE(log.ok()) << log.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("r.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(ResultLog, AppendFailureIsIo) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  auto log = ResultLog::Open(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  // A file size limit makes the write fail (EFBIG) like a full disk would.
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit tiny = old;
  tiny.rlim_cur = 8;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  Status appended = log->Append(Finished(1, "a"));
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::kIo);
  EXPECT_CONTAINS(appended.error().message, "cannot append to results file " + path);
}

TEST(ResultLog, InvalidUtf8IsWrittenReplacedAndStillMatchesOnResume) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  const std::string command = "echo '\xff\xfe'";
  {
    auto log = ResultLog::Open(path);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->Append(Finished(1, command)).ok());
  }
  auto prior = ReadResults(path);
  ASSERT_TRUE(prior.ok()) << prior.error().message;
  EXPECT_EQ(prior->commands.at(1), "echo '\xef\xbf\xbd\xef\xbf\xbd'");
  auto pending = PendingTasks(Tasks({command, "other"}), *prior, path);
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  EXPECT_EQ(Ids(*pending), (std::vector<unsigned>{2}));
}

TEST(ResultLog, OpenCutsATornLastLineSoTheNextLineStartsClean) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  const std::string good = Line(Finished(1, "a"));
  const std::string torn = Line(Finished(2, "b")).substr(0, 30);
  WriteText(path, good + torn);
  auto before = ReadResults(path);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_TRUE(before->torn_tail);
  EXPECT_EQ(before->lines, 1u);
  EXPECT_EQ(before->succeeded, std::set<unsigned>{1});
  {
    auto log = ResultLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.error().message;
    ASSERT_TRUE(log->Append(Finished(2, "b")).ok());
  }
  EXPECT_EQ(*ReadFile(path), good + Line(Finished(2, "b")));
  auto after = ReadResults(path);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_FALSE(after->torn_tail);
  EXPECT_EQ(after->succeeded, (std::set<unsigned>{1, 2}));
}

TEST(ResultLog, OpenCutsAFileThatIsOneTornLine) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  WriteText(path, "{\"v");
  ASSERT_TRUE(ResultLog::Open(path).ok());
  EXPECT_EQ(*ReadFile(path), "");
}

TEST(ResultLog, OpenFinishesACompleteLineThatLostItsNewline) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  const std::string line = Line(Finished(1, "a"));
  WriteText(path, line.substr(0, line.size() - 1));
  ASSERT_TRUE(ResultLog::Open(path).ok());
  EXPECT_EQ(*ReadFile(path), line);
}

TEST(ResultLog, OpenRefusesAForeignFileWithoutFinalNewline) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  WriteText(path, "my notes\nnot results");
  auto log = ResultLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(log.error().message, "does not look like a migctl results file");
  EXPECT_EQ(*ReadFile(path), "my notes\nnot results");  // Untouched.
}

TEST(ReadResults, MissingFileIsEmpty) {
  TempDir dir;
  auto prior = ReadResults(dir.File("none.jsonl"));
  ASSERT_TRUE(prior.ok()) << prior.error().message;
  EXPECT_EQ(prior->lines, 0u);
  EXPECT_TRUE(prior->commands.empty());
  EXPECT_FALSE(prior->torn_tail);
}

TEST(ReadResults, TornLastLineIsToleratedEvenBeforeBlankLines) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  WriteText(path, Line(Finished(1, "a")) + "\n{\"v\":1,\"task\":2,\"att\n\n");
  auto prior = ReadResults(path);
  ASSERT_TRUE(prior.ok()) << prior.error().message;
  EXPECT_TRUE(prior->torn_tail);
  EXPECT_EQ(prior->lines, 1u);
  EXPECT_EQ(prior->commands.size(), 1u);
}

TEST(ReadResults, BadLineElsewhereIsCorruptWithFileAndLine) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  WriteText(path, Line(Finished(1, "a")) + "{\"v\":1,\"ta\n" + Line(Finished(2, "b")));
  auto prior = ReadResults(path);
  ASSERT_FALSE(prior.ok());
  EXPECT_EQ(prior.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(prior.error().message, path + ":2: not a JSON line");
}

TEST(ReadResults, ValidJsonThatIsNotAResultIsCorruptEvenLast) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  Json future = ResultToJson(Finished(2, "b"));
  future["v"] = 7;
  WriteText(path, Line(Finished(1, "a")) + future.dump() + "\n");
  auto prior = ReadResults(path);
  ASSERT_FALSE(prior.ok());
  EXPECT_EQ(prior.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(prior.error().message, path + ":2: result version 7 is unknown");
}

TEST(ReadResults, OneTaskWithTwoCommandsIsCorrupt) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  WriteText(path,
            Line(Finished(1, "a", TaskStatus::kFailed)) + Line(Finished(2, "b")) + Line(Finished(1, "z")));
  auto prior = ReadResults(path);
  ASSERT_FALSE(prior.ok());
  EXPECT_EQ(prior.error().code, ErrorCode::kCorrupt);
  EXPECT_CONTAINS(prior.error().message, path + ":3: task 1 is `z` here but `a` on line 1");
}

TEST(ReadResults, ADirectoryIsInvalidInput) {
  TempDir dir;
  ASSERT_TRUE(MakeDirectories(dir.File("d")).ok());
  auto prior = ReadResults(dir.File("d"));
  ASSERT_FALSE(prior.ok());
  EXPECT_EQ(prior.error().code, ErrorCode::kInvalidInput);
  EXPECT_CONTAINS(prior.error().message, dir.File("d") + " is a directory, not a file");
}

TEST(PendingTasks, SkipsOnlySucceededTasks) {
  PriorResults prior;
  prior.commands = {{1, "a"}, {2, "b"}, {4, "d"}};
  prior.succeeded = {1, 4};
  auto pending = PendingTasks(Tasks({"a", "b", "c", "d", "e"}), prior, "r.jsonl");
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  EXPECT_EQ(Ids(*pending), (std::vector<unsigned>{2, 3, 5}));
  EXPECT_EQ((*pending)[0].command, "b");
}

TEST(PendingTasks, EmptyPriorRunsEverything) {
  auto pending = PendingTasks(Tasks({"a", "b"}), PriorResults{}, "r.jsonl");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(Ids(*pending), (std::vector<unsigned>{1, 2}));
}

TEST(PendingTasks, ChangedCommandIsADifferentTaskList) {
  PriorResults prior;
  prior.commands = {{1, "a"}, {3, "train --lr 1"}};
  prior.succeeded = {1, 3};
  auto pending = PendingTasks(Tasks({"a", "b", "train --lr 2"}), prior, "r.jsonl");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().code, ErrorCode::kInvalidInput);
  EXPECT_CONTAINS(
      pending.error().message,
      "r.jsonl was written for a different task list: task 3 was `train --lr 1`, now `train --lr 2`");
}

TEST(PendingTasks, RecordedTaskThatNoLongerExistsIsADifferentTaskList) {
  PriorResults prior;
  prior.commands = {{1, "a"}, {5, "e"}};
  auto pending = PendingTasks(Tasks({"a", "b"}), prior, "r.jsonl");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().code, ErrorCode::kInvalidInput);
  EXPECT_CONTAINS(pending.error().message, "task 5 was `e`, now there is no task 5 (2 tasks)");
}

TEST(PendingTasks, MessageKeepsCommandsOnOneLine) {
  PriorResults prior;
  prior.commands = {{1, "echo 'a\nb'"}};
  auto pending = PendingTasks(Tasks({"x"}), prior, "r.jsonl");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().message.find('\n'), std::string::npos) << pending.error().message;
  EXPECT_CONTAINS(pending.error().message, "`echo 'a\\nb'`");
}

TEST(ResultLog, ResumeAfterAKillRerunsOnlyUnfinishedTasks) {
  TempDir dir;
  const std::string path = dir.File("r.jsonl");
  const std::vector<Task> all = Tasks({"a", "b", "c", "d"});
  {
    auto log = ResultLog::Open(path);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->Append(Finished(1, "a")).ok());
    TaskResult retried = Finished(2, "b", TaskStatus::kFailed);
    retried.final = false;
    ASSERT_TRUE(log->Append(retried).ok());
    ASSERT_TRUE(log->Append(Finished(3, "c")).ok());
  }
  {
    std::ofstream(path, std::ios::app) << Line(Finished(4, "d")).substr(0, 17);  // Killed mid-write.
  }
  auto prior = ReadResults(path);
  ASSERT_TRUE(prior.ok()) << prior.error().message;
  auto pending = PendingTasks(all, *prior, path);
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  EXPECT_EQ(Ids(*pending), (std::vector<unsigned>{2, 4}));
  {
    auto log = ResultLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.error().message;
    for (const Task& t : *pending) ASSERT_TRUE(log->Append(Finished(t.id, t.command)).ok());
  }
  auto again = ReadResults(path);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->torn_tail);
  EXPECT_EQ(again->succeeded, (std::set<unsigned>{1, 2, 3, 4}));
  EXPECT_TRUE(PendingTasks(all, *again, path)->empty());
}

}  // namespace
}  // namespace migctl
