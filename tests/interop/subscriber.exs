# The Elixir subscriber of the interoperability test (tests/interop/run.py):
# follows some contacts' feeds through one CrmPubSub connection and prints
# the lines of the example subscribers (client/examples/subscriber.c).
#
#   mix run subscriber.exs SOCKET MARKER_UUID CONTACT_UUID...
#
# Output lines:
#   subscribed N [pending]     once every feed is subscribed (MARKER's too)
#   crm EVENT CONTACT_UUID INTERACTION_UUID
#   resync REASON
# The seed's message names no topic, so each contact's feed has its own
# process, which tells the contact. The marker's feed ends a run: its push
# comes after every push the test waits for, and its line is printed only
# once every other feed's process has printed what it received before.
# Runs until stopped (SIGTERM). The client's log goes to stderr.

defmodule Interop.Subscriber do
  # A contact's feed: subscribes, reports to parent, prints what comes.
  def follow(contact, parent) do
    result = CrmPubSub.subscribe(CrmPubSub.topic_contact_interactions(contact))
    send(parent, {:subscribed, self(), result})
    loop(contact, [])
  end

  # Prints each message; before a message, a sync request is answered only
  # after the lines of what was received earlier are written.
  def loop(contact, feeds) do
    receive do
      {:crm, event, %{interaction_uuid: uuid}} ->
        sync(feeds)
        IO.puts("crm #{event} #{contact} #{uuid}")

      {:crm_resync, reason} ->
        IO.puts("resync #{reason}")

      {:sync, from, ref} ->
        send(from, {ref, :synced})
    end

    loop(contact, feeds)
  end

  # Waits (bounded) until every feed process has handled its mailbox so far.
  defp sync(feeds) do
    for pid <- feeds do
      ref = make_ref()
      send(pid, {:sync, self(), ref})

      receive do
        {^ref, :synced} -> :ok
      after
        5_000 -> IO.puts("sync timed out")
      end
    end
  end
end

Logger.configure_backend(:console, device: :standard_error)

[socket, marker | contacts] = System.argv()

{:ok, _} =
  Supervisor.start_link([{CrmPubSub, socket: socket, client_name: "interop-subscriber"}],
    strategy: :one_for_one
  )

me = self()
feeds = Enum.map(contacts, fn c -> spawn_link(fn -> Interop.Subscriber.follow(c, me) end) end)

results =
  for pid <- feeds do
    receive do
      {:subscribed, ^pid, result} -> result
    after
      10_000 -> {:error, :timeout}
    end
  end

results = [CrmPubSub.subscribe(CrmPubSub.topic_contact_interactions(marker)) | results]

if Enum.all?(results, &(&1 == :ok)) do
  live = if CrmPubSub.stats().connected, do: "", else: " pending"
  IO.puts("subscribed #{length(results)}#{live}")
  Interop.Subscriber.loop(marker, feeds)
else
  IO.puts("subscribe failed: #{inspect(results)}")
  System.halt(1)
end
