defmodule CrmPubSub.CountsFormatter do
  @moduledoc """
  An ExUnit formatter that writes "passed failed" to the file named by
  $SUITE_COUNTS when the suite ends (tests/suite.sh reads it): invalid
  tests (a failed setup_all) count as failed, skipped and excluded ones
  not at all.
  """

  use GenServer

  @impl true
  def init(_opts), do: {:ok, %{passed: 0, failed: 0}}

  @impl true
  def handle_cast({:test_finished, %ExUnit.Test{state: nil}}, s),
    do: {:noreply, %{s | passed: s.passed + 1}}

  def handle_cast({:test_finished, %ExUnit.Test{state: {tag, _}}}, s)
      when tag in [:failed, :invalid],
      do: {:noreply, %{s | failed: s.failed + 1}}

  # {:suite_finished, times} in Elixir 1.14+, three elements before.
  def handle_cast(event, s) when elem(event, 0) == :suite_finished do
    with path when path not in [nil, ""] <- System.get_env("SUITE_COUNTS"),
         do: File.write!(path, "#{s.passed} #{s.failed}\n")

    {:noreply, s}
  end

  def handle_cast(_event, s), do: {:noreply, s}
end
