defmodule CrmPubSub.TestConn do
  @moduledoc """
  A plain protocol connection to the daemon for tests: send a request, read
  its reply or the next push, every read bounded. It goes around the client
  under test, to look at the daemon's side (`topics`) or to broadcast as
  another program would.
  """

  alias CrmPubSub.Codec

  @timeout 5_000

  defstruct [:sock, :codec, buf: ""]

  def connect(path) do
    {:ok, sock} = :gen_tcp.connect({:local, path}, 0, [:local, :binary, active: false], @timeout)
    %__MODULE__{sock: sock, codec: Codec.resolve(nil)}
  end

  def close(%__MODULE__{sock: sock}), do: :gen_tcp.close(sock)

  @doc "Sends one request (a map) and returns {reply, conn}, skipping pushes."
  def request(conn, request) do
    :ok = :gen_tcp.send(conn.sock, [Codec.encode!(conn.codec, request), ?\n])
    next_reply(conn)
  end

  @doc "Sends requests in one write and reads their replies; returns the conn."
  def pipeline(conn, requests) do
    lines = Enum.map(requests, &[Codec.encode!(conn.codec, &1), ?\n])
    :ok = :gen_tcp.send(conn.sock, lines)

    Enum.reduce(requests, conn, fn _, c ->
      {%{"ok" => true}, c} = next_reply(c)
      c
    end)
  end

  @doc "The topics the daemon holds, as %{topic => subscribers}."
  def daemon_topics(conn) do
    {%{"ok" => true, "topics" => topics}, conn} = request(conn, %{"op" => "topics"})
    {Map.new(topics, &{&1["topic"], &1["subscribers"]}), conn}
  end

  @doc "The next decoded line that is a reply."
  def next_reply(conn) do
    case next_line(conn) do
      {%{"ok" => _} = reply, conn} -> {reply, conn}
      {%{"type" => _}, conn} -> next_reply(conn)
    end
  end

  @doc "The next decoded line (reply or push), or raises after the bound."
  def next_line(%__MODULE__{buf: buf} = conn) do
    case :binary.split(buf, "\n") do
      [line, rest] ->
        {:ok, term} = Codec.decode(conn.codec, line)
        {term, %{conn | buf: rest}}

      [_partial] ->
        case :gen_tcp.recv(conn.sock, 0, @timeout) do
          {:ok, data} -> next_line(%{conn | buf: buf <> data})
          {:error, reason} -> raise "no line from the daemon: #{inspect(reason)}"
        end
    end
  end

  @doc "Polls (bounded) until fun.(conn) returns {true, conn}; returns the last conn."
  def await(conn, fun, deadline_ms \\ @timeout) do
    deadline = System.monotonic_time(:millisecond) + deadline_ms
    await_until(conn, fun, deadline)
  end

  defp await_until(conn, fun, deadline) do
    {done?, conn} = fun.(conn)

    cond do
      done? ->
        conn

      System.monotonic_time(:millisecond) > deadline ->
        raise "condition not met within the bound"

      true ->
        Process.sleep(10)
        await_until(conn, fun, deadline)
    end
  end
end
