# Every test talks to a real crmpubsubd (CrmPubSub.TestDaemon) through the
# node's one CrmPubSub process, so modules run one at a time.
ExUnit.start(
  formatters: [ExUnit.CLIFormatter, CrmPubSub.CountsFormatter],
  capture_log: true,
  assert_receive_timeout: 5_000
)
