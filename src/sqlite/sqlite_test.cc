#include "sqlite/sqlite.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace tapvault::sqlite {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, data BLOB);
)sql";

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sqlite_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  OpenOptions Options(bool create) {
    return {.label = "things", .create = create, .schema = kSchema, .schema_version = "3",
            .required_tables = {"meta", "t"}};
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteTest, CreatesAPrivateFileAndReopensIt) {
  {
    auto db = Db::Open(path_, Options(true));
    ASSERT_TRUE(db.ok()) << db.status();
    auto q = (*db)->Prepare("INSERT INTO t(name) VALUES(?1)", "insert");
    ASSERT_TRUE(q.ok());
    ASSERT_TRUE((*q)->Bind(1, "a").Run().ok());
    EXPECT_EQ((*db)->LastInsertRowid(), 1);
  }
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto db = Db::Open(path_, Options(false));
  ASSERT_TRUE(db.ok()) << db.status();
  auto q = (*db)->Prepare("SELECT name FROM t", "select");
  ASSERT_TRUE(q.ok());
  auto row = (*q)->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*q)->Str(0), "a");
}

TEST_F(SqliteTest, MissingFileIsNotFoundWithoutCreate) {
  auto db = Db::Open(path_, Options(false));
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(db.status().message()).find("things: "), std::string::npos);
}

TEST_F(SqliteTest, RefusesAnotherSchemaVersionAndAForeignFile) {
  ASSERT_TRUE(Db::Open(path_, Options(true)).ok());
  OpenOptions other = Options(false);
  other.schema_version = "4";
  EXPECT_EQ(Db::Open(path_, other).status().code(), absl::StatusCode::kFailedPrecondition);
  OpenOptions foreign = Options(false);
  foreign.required_tables = {"meta", "warrants"};
  auto db = Db::Open(path_, foreign);
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(db.status().message()).find("no table warrants"), std::string::npos);
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = Db::Open(path_, Options(true));
  ASSERT_TRUE(db.ok());
  {
    Txn txn(db->get());
    ASSERT_TRUE(txn.Begin(true).ok());
    auto q = (*db)->Prepare("INSERT INTO t(name) VALUES(?1)", "insert");
    ASSERT_TRUE((*q)->Bind(1, "gone").Run().ok());
    EXPECT_TRUE((*db)->InTransaction());
  }
  EXPECT_FALSE((*db)->InTransaction());
  {
    Txn txn(db->get());
    ASSERT_TRUE(txn.Begin(true).ok());
    auto q = (*db)->Prepare("INSERT INTO t(name) VALUES(?1)", "insert");
    ASSERT_TRUE((*q)->Bind(1, "kept").Run().ok());
    q->reset();
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto q = (*db)->Prepare("SELECT group_concat(name) FROM t", "names");
  ASSERT_TRUE((*q)->Step().ok());
  EXPECT_EQ((*q)->Str(0), "kept");
}

TEST_F(SqliteTest, ConstraintIsFailedPreconditionAndBindErrorsSurfaceOnStep) {
  auto db = Db::Open(path_, Options(true));
  ASSERT_TRUE(db.ok());
  auto q = (*db)->Prepare("INSERT INTO t(name) VALUES(?1)", "insert name");
  ASSERT_TRUE((*q)->Bind(1, "x").Run().ok());
  absl::Status dup = (*q)->Bind(1, "x").Run();
  EXPECT_EQ(dup.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(dup.message()).find("things: insert name"), std::string::npos);
  // Parameter 9 does not exist: the bind error comes back from Run, nothing is inserted.
  EXPECT_EQ((*q)->Bind(1, "y").Bind(9, int64_t{1}).Run().code(), absl::StatusCode::kInternal);
}

TEST_F(SqliteTest, BlobsAndNullsRoundTrip) {
  auto db = Db::Open(path_, Options(true));
  ASSERT_TRUE(db.ok());
  const char bytes[] = {'\0', '\x01', '\xff'};
  auto ins = (*db)->Prepare("INSERT INTO t(name, data) VALUES(?1, ?2)", "insert");
  ASSERT_TRUE((*ins)->Bind(1, "b").BindBlob(2, bytes, sizeof bytes).Run().ok());
  ASSERT_TRUE((*ins)->Bind(1, "n").BindNull(2).Run().ok());
  auto q = (*db)->Prepare("SELECT data FROM t ORDER BY name", "select");
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->Blob(0), std::string_view(bytes, sizeof bytes));
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_TRUE((*q)->IsNull(0));
}

TEST_F(SqliteTest, AnEmptyViewIsTheEmptyStringNotNull) {
  auto db = Db::Open(path_, Options(true));
  ASSERT_TRUE(db.ok());
  auto ins = (*db)->Prepare("INSERT INTO t(name, data) VALUES('e', ?1)", "insert");
  ASSERT_TRUE((*ins)->Bind(1, std::string_view()).Run().ok());
  auto q = (*db)->Prepare("SELECT data IS NULL, data = '' FROM t", "select");
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->Int(0), 0);
  EXPECT_EQ((*q)->Int(1), 1);
}

TEST_F(SqliteTest, RealsRoundTrip) {
  auto db = Db::Open(path_, Options(true));
  ASSERT_TRUE(db.ok());
  auto ins = (*db)->Prepare("INSERT INTO t(name, data) VALUES(?1, ?2)", "insert");
  ASSERT_TRUE((*ins)->Bind(1, "r").Bind(2, 0.25).Run().ok());
  auto q = (*db)->Prepare("SELECT data, typeof(data) FROM t", "select");
  ASSERT_TRUE(*(*q)->Step());
  EXPECT_EQ((*q)->Double(0), 0.25);
  EXPECT_EQ((*q)->Str(1), "real");
}

TEST_F(SqliteTest, ReadOnlyRefusesWrites) {
  ASSERT_TRUE(Db::Open(path_, Options(true)).ok());
  OpenOptions ro = Options(false);
  ro.read_only = true;
  auto db = Db::Open(path_, ro);
  ASSERT_TRUE(db.ok()) << db.status();
  auto q = (*db)->Prepare("INSERT INTO t(name) VALUES('z')", "insert");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Run().code(), absl::StatusCode::kPermissionDenied);
  OpenOptions both = Options(true);
  both.read_only = true;
  EXPECT_EQ(Db::Open(path_, both).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tapvault::sqlite
