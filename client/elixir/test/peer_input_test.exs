defmodule CrmPubSub.PeerInputTest do
  # Lines no crmpubsubd sends (bad JSON, unknown pushes and reasons, stray
  # replies, lines split anywhere): the client logs them, loses nothing
  # else and carries on. A scripted peer on a Unix socket stands in for the
  # daemon here, since the real one cannot be made to send them.
  use CrmPubSub.Case, async: false

  import ExUnit.CaptureLog

  @moduletag client: false

  test "bad lines from the peer are logged and skipped", %{socket: daemon_socket} do
    path = daemon_socket <> ".peer"

    {:ok, listen} =
      :gen_tcp.listen(0, [:local, :binary, ifaddr: {:local, path}, active: false, packet: :line])

    peer = Task.async(fn -> script(listen, topic(1)) end)

    log =
      capture_log(fn ->
        start_supervised!({CrmPubSub, socket: path})
        assert :ok = CrmPubSub.subscribe(topic(1))
        assert_receive {:crm_resync, :unknown}
        assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
        assert next_crm() == {:crm, :interaction_updated, %{interaction_uuid: uuid(101)}}
        assert %{received: 2, resyncs: 1, connected: true} = CrmPubSub.stats()
      end)

    assert log =~ "ignored a line from the daemon: {:bad_json"
    assert log =~ ~s(ignored a line from the daemon: %{"event" => "interaction_exploded")
    assert log =~ ~s(a reply nothing asked for: %{"ok" => true, "op" => "ping"})
    Task.shutdown(peer, :brutal_kill)
    :gen_tcp.close(listen)
  end

  # The daemon's side of one session: hello, one subscribe, then pushes.
  defp script(listen, topic) do
    {:ok, s} = :gen_tcp.accept(listen, 5_000)
    {:ok, hello} = :gen_tcp.recv(s, 0, 5_000)
    true = hello =~ ~s("op":"hello")

    :ok =
      :gen_tcp.send(
        s,
        ~s({"ok":true,"op":"hello","server":"peer","version":"0","protocol":1,"client_id":1}\n)
      )

    {:ok, sub} = :gen_tcp.recv(s, 0, 5_000)
    true = sub =~ ~s("op":"subscribe")

    :ok =
      :gen_tcp.send(s, ~s({"ok":true,"op":"subscribe","topics":["#{topic}"],"subscribed":1}\n))

    crm = fn event, u ->
      ~s({"type":"crm","event":"#{event}","topic":"#{topic}","payload":{"interaction_uuid":"#{u}"}}\n)
    end

    lines = [
      "not json\n",
      "[1,2]\n",
      "\n",
      ~s({"type":"resync","reason":"meteor","dropped":0}\n),
      crm.("interaction_exploded", uuid(99)),
      ~s({"ok":true,"op":"ping"}\n),
      crm.("interaction_created", uuid(100))
    ]

    :ok = :gen_tcp.send(s, lines)
    # One line in three writes.
    {a, rest} = String.split_at(crm.("interaction_updated", uuid(101)), 10)
    {b, c} = String.split_at(rest, 30)
    for part <- [a, b, c], do: :ok = :gen_tcp.send(s, part)
    Process.sleep(:infinity)
  end
end
