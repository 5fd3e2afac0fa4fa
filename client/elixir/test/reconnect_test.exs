defmodule CrmPubSub.ReconnectTest do
  # The daemon going away, coming back, and falling behind; the bounds that
  # keep broadcasts from ever waiting or piling up.
  use CrmPubSub.Case, async: false

  import ExUnit.CaptureLog

  test "daemon restarted under a subscriber: resync, topics live again, queued broadcasts sent",
       %{daemon: daemon, socket: socket} do
    :ok = CrmPubSub.subscribe(topic(1))
    :ok = CrmPubSub.subscribe(topic(2))

    capture_log(fn ->
      assert TestDaemon.stop(daemon) == 0
      # While the daemon is away: broadcasts return at once and are kept.
      within(5_000, fn ->
        for n <- 1..100,
            do: :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(n), [uuid(1)])
      end)

      assert CrmPubSub.subscribe(topic(3)) == :ok
      assert :ok = TestDaemon.start(daemon)
      assert_receive {:crm_resync, :reconnected}
    end)

    refute_received {:crm_resync, _}
    conn = TestConn.connect(socket)
    {topics, _} = TestConn.daemon_topics(conn)
    assert topics == %{topic(1) => 1, topic(2) => 1, topic(3) => 1}

    # Sent after the resubscription, so this node's own subscriber gets them.
    for n <- 1..100,
        do: assert(next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(n)}})

    TestConn.request(conn, %{
      "op" => "broadcast_to_contacts",
      "event" => "interaction_updated",
      "interaction_uuid" => uuid(500),
      "contact_uuids" => [uuid(3)]
    })

    assert next_crm() == {:crm, :interaction_updated, %{interaction_uuid: uuid(500)}}
    :ok = CrmPubSub.flush()
    assert %{connects: 2, acked: 100, dropped: 0, connected: true} = CrmPubSub.stats()
  end

  test "every subscriber process gets one resync per reconnection", %{daemon: daemon} do
    parent = self()

    others =
      for n <- 1..3 do
        spawn_link(fn ->
          :ok = CrmPubSub.subscribe(topic(n))
          :ok = CrmPubSub.subscribe(topic(n + 10))
          send(parent, :subscribed)

          receive do
            {:crm_resync, reason} -> send(parent, {:resync, self(), reason})
          end
        end)
      end

    for _ <- others, do: assert_receive(:subscribed)

    capture_log(fn ->
      TestDaemon.stop(daemon, "KILL")
      :ok = TestDaemon.start(daemon)
      for pid <- others, do: assert_receive({:resync, ^pid, :reconnected})
    end)
  end

  test "a broadcast made while disconnected beyond the queue bound is dropped and counted", %{
    daemon: daemon
  } do
    stop_supervised!(CrmPubSub)

    start_supervised!(
      {CrmPubSub, socket: TestDaemon.socket(daemon), max_queue_bytes: 2_000, reconnect_min: 20}
    )

    :ok = CrmPubSub.subscribe(topic(1))

    capture_log(fn ->
      TestDaemon.stop(daemon)

      for n <- 1..100,
          do: :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(n), [uuid(1)])

      %{dropped: dropped, broadcasts: 100, pending: pending} = CrmPubSub.stats()
      assert dropped > 0 and pending + dropped == 100
      :ok = TestDaemon.start(daemon)
      assert_receive {:crm_resync, :reconnected}
      :ok = CrmPubSub.flush()
      assert %{acked: acked} = CrmPubSub.stats()
      assert acked + dropped == 100

      for n <- 1..acked,
          do: assert(next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(n)}})
    end)
  end

  @tag client_opts: [max_mailbox: 50]
  test "a stuck connection process costs a caller one bounded wait, then broadcasts are dropped" do
    :ok = CrmPubSub.subscribe(topic(1))
    :ok = :sys.suspend(CrmPubSub)

    try do
      # 50 in the mailbox, the 51st waits 50 ms in vain (and stays queued),
      # the rest are dropped at once.
      within(5_000, fn ->
        for n <- 1..200,
            do: :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(n), [uuid(1)])
      end)
    after
      :sys.resume(CrmPubSub)
    end

    :ok = CrmPubSub.flush()
    assert %{broadcasts: 200, dropped: 149, acked: 51, pending: 0} = CrmPubSub.stats()

    for n <- 1..51,
        do: assert(next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(n)}})

    # Caught up: broadcasts go through again.
    assert_nothing_before_marker(1)
  end

  @tag client_opts: [max_mailbox: 10, broadcast_wait: 1_000]
  test "a burst beyond the mailbox bound is paced, not dropped" do
    :ok = CrmPubSub.subscribe(topic(1))

    for n <- 1..2_000,
        do: :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(n), [uuid(1)])

    :ok = CrmPubSub.flush()
    assert %{broadcasts: 2_000, dropped: 0, acked: 2_000} = CrmPubSub.stats()

    for n <- 1..2_000,
        do: assert(next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(n)}})
  end

  @tag daemon_args: ["--max-outbuf", "4096"]
  test "a node that reads too slowly gets the daemon's lagged resync", %{socket: socket} do
    :ok = CrmPubSub.subscribe(topic(1))
    # The connection process stops reading; another program broadcasts
    # until the daemon has dropped pushes for this node.
    :ok = :sys.suspend(CrmPubSub)

    try do
      line = %{
        "op" => "broadcast_to_contacts",
        "event" => "interaction_created",
        "interaction_uuid" => uuid(100),
        "contact_uuids" => [uuid(1)]
      }

      conn = TestConn.connect(socket)

      TestConn.await(conn, fn c ->
        c = TestConn.pipeline(c, List.duplicate(line, 200))
        {%{"stats" => stats}, c} = TestConn.request(c, %{"op" => "stats"})
        {stats["dropped"] > 0, c}
      end)
    after
      :sys.resume(CrmPubSub)
    end

    assert_receive {:crm_resync, :lagged}
    assert %{resyncs: 1} = CrmPubSub.stats()
    # Every push was either received before the resync or counted dropped.
    {%{"stats" => stats}, _} = TestConn.request(TestConn.connect(socket), %{"op" => "stats"})
    received = count_crm(uuid(100))
    assert received > 0
    assert received + stats["dropped"] == stats["broadcasts"]
    # Normal pushes resume after the resync.
    assert_nothing_before_marker(1)
  end

  # Takes every {:crm, _, _} for interaction u already in the mailbox.
  defp count_crm(u, n \\ 0) do
    receive do
      {:crm, :interaction_created, %{interaction_uuid: ^u}} -> count_crm(u, n + 1)
    after
      0 -> n
    end
  end

  test "without a daemon: start, subscribe and broadcast all work, then the daemon appears",
       %{daemon: daemon, socket: socket} do
    stop_supervised!(CrmPubSub)

    capture_log(fn ->
      TestDaemon.stop(daemon)
      start_supervised!({CrmPubSub, socket: socket, reconnect_min: 20, reconnect_max: 100})
      assert CrmPubSub.subscribe(topic(1)) == :ok
      assert CrmPubSub.subscribe("nope") == {:error, :bad_topic}
      assert :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
      assert %{connected: false, topics: 1} = CrmPubSub.stats()
      :ok = TestDaemon.start(daemon)
      assert_receive {:crm_resync, :reconnected}
    end)

    assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
  end

  @tag client: false
  test "without CrmPubSub running: broadcasts return :ok, subscribe says so" do
    log =
      capture_log(fn ->
        assert :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(1), [uuid(1)])
        assert :ok = CrmPubSub.broadcast_interaction(:interaction_created, %{uuid: uuid(1)})
      end)

    assert CrmPubSub.subscribe(topic(1)) == {:error, :not_started}
    assert CrmPubSub.unsubscribe(topic(1)) == :ok
    assert CrmPubSub.flush() == {:error, :not_started}
    # The warning is given once per node; the first test to get here shows it.
    assert log == "" or log =~ "broadcast before CrmPubSub was started"
  end

  test "a connection process that crashes is restarted; its subscribers keep their topics and resync",
       %{socket: socket} do
    :ok = CrmPubSub.subscribe(topic(1))
    old = Process.whereis(CrmPubSub)
    ref = Process.monitor(old)

    capture_log(fn ->
      Process.exit(old, :kill)
      assert_receive {:DOWN, ^ref, :process, ^old, :killed}
      assert_receive {:crm_resync, :reconnected}
    end)

    assert Process.whereis(CrmPubSub) not in [nil, old]
    {topics, _} = TestConn.daemon_topics(TestConn.connect(socket))
    assert topics == %{topic(1) => 1}
    :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
    assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
    # Still monitored by the new process: leaving drops the daemon's topic.
    :ok = CrmPubSub.unsubscribe(topic(1))
    :ok = CrmPubSub.flush()
    assert {%{}, _} = TestConn.daemon_topics(TestConn.connect(socket))
  end
end
