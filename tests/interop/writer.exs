# The Elixir writer of the interoperability test (tests/interop/run.py):
# every broadcast of a plan through one CrmPubSub connection.
#
#   mix run writer.exs SOCKET PLAN
#
# PLAN holds one broadcast per line, in the arguments of the example
# writers (client/examples/writer.c):
#   EVENT INTERACTION_UUID SUBJECT_UUID|- [PARTY_UUID|- ...]   broadcast_interaction
#   -c EVENT INTERACTION_UUID CONTACT_UUID|- ...              broadcast_to_contacts
# "-" is no contact (nil). Prints "involved U" for each involved contact of
# a broadcast_interaction, as they do, then "acknowledged N" once the daemon
# accepted all N broadcasts (exit 0), or "not acknowledged STATS" (exit 1).
# The client's log goes to stderr, so stdout holds only these lines.

Logger.configure_backend(:console, device: :standard_error)

[socket, plan] = System.argv()

{:ok, _} =
  Supervisor.start_link([{CrmPubSub, socket: socket, client_name: "interop-writer"}],
    strategy: :one_for_one
  )

contact = fn
  "-" -> nil
  uuid -> uuid
end

broadcasts = plan |> File.read!() |> String.split("\n", trim: true) |> Enum.map(&String.split/1)

for args <- broadcasts do
  case args do
    ["-c", event, uuid | contacts] ->
      :ok =
        CrmPubSub.broadcast_to_contacts(
          String.to_atom(event),
          uuid,
          Enum.map(contacts, contact)
        )

    [event, uuid, subject | parties] ->
      interaction = %{
        uuid: uuid,
        contact_uuid: contact.(subject),
        parties: Enum.map(parties, &%{contact_uuid: contact.(&1)})
      }

      for u <- CrmPubSub.involved_contact_uuids(interaction), do: IO.puts("involved #{u}")
      :ok = CrmPubSub.broadcast_interaction(String.to_atom(event), interaction)
  end
end

flushed = CrmPubSub.flush(5_000)
stats = CrmPubSub.stats()
n = length(broadcasts)

if flushed == :ok and stats.acked == n and stats.broadcasts == n do
  IO.puts("acknowledged #{n}")
else
  IO.puts("not acknowledged #{inspect(Map.drop(stats, [:socket]))}")
  System.halt(1)
end
