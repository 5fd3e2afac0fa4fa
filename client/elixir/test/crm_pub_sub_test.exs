defmodule CrmPubSubTest do
  # Every public function against the real daemon.
  use CrmPubSub.Case, async: false

  import ExUnit.CaptureLog

  defmodule Interaction do
    defstruct [:uuid, :contact_uuid, parties: []]
  end

  defmodule Party do
    defstruct [:contact_uuid, :raw_name]
  end

  defmodule NotLoaded do
    defstruct [:__field__]
  end

  describe "topic_contact_interactions/1" do
    test "names the contact's feed, the seed's way" do
      assert CrmPubSub.topic_contact_interactions(uuid(1)) ==
               "crm:contact:#{uuid(1)}:interactions"

      # Like the seed it only interpolates; subscribe/1 is where a bad one is refused.
      assert CrmPubSub.topic_contact_interactions("x") == "crm:contact:x:interactions"
    end
  end

  describe "involved_contact_uuids/1" do
    test "subject then parties, nils dropped, duplicates dropped keeping the first" do
      i = %Interaction{
        uuid: uuid(100),
        contact_uuid: uuid(1),
        parties: [
          %Party{contact_uuid: nil},
          %Party{contact_uuid: uuid(2)},
          %Party{contact_uuid: uuid(1)}
        ]
      }

      assert CrmPubSub.involved_contact_uuids(i) == [uuid(1), uuid(2)]
    end

    test "duplicates are compared in lowercase, as the daemon compares them" do
      upper = String.upcase(uuid(1))
      i = %{contact_uuid: upper, parties: [%{contact_uuid: uuid(1)}]}
      assert CrmPubSub.involved_contact_uuids(i) == [upper]
    end

    test "parties that are not a list (not loaded) count as none" do
      for parties <- [%NotLoaded{}, nil, :not_loaded] do
        i = %Interaction{uuid: uuid(100), contact_uuid: uuid(1), parties: parties}
        assert CrmPubSub.involved_contact_uuids(i) == [uuid(1)]
      end
    end

    test "maps with atom or string keys; a nil subject; a party without contact" do
      assert CrmPubSub.involved_contact_uuids(%{
               "contact_uuid" => nil,
               "parties" => [%{"contact_uuid" => uuid(3)}]
             }) ==
               [uuid(3)]

      assert CrmPubSub.involved_contact_uuids(%{parties: [%{raw_name: "Ann"}, "not a map"]}) == []
    end

    test "anything but a map is a programming error" do
      assert_raise FunctionClauseError, fn -> CrmPubSub.involved_contact_uuids([uuid(1)]) end
    end
  end

  describe "subscribe/1 and broadcast_interaction/2" do
    test "every involved contact's subscriber receives the seed's tuple" do
      assert :ok = CrmPubSub.subscribe(topic(1))
      party = spawn_subscriber(topic(2))

      i = %Interaction{
        uuid: uuid(100),
        contact_uuid: uuid(1),
        parties: [%Party{contact_uuid: uuid(2)}]
      }

      assert :ok = CrmPubSub.broadcast_interaction(:interaction_created, i)

      assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
      assert_receive {:got, ^party, {:crm, :interaction_created, %{interaction_uuid: u}}}
      assert u == uuid(100)
      assert_nothing_before_marker(1)
      refute Process.alive?(party)
    end

    test "each event arrives as its atom; a contact not involved gets nothing" do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.subscribe(topic(3))

      for event <- [:interaction_created, :interaction_updated, :interaction_deleted] do
        :ok =
          CrmPubSub.broadcast_interaction(event, %{
            uuid: uuid(7),
            contact_uuid: uuid(1),
            parties: nil
          })

        assert next_crm() == {:crm, event, %{interaction_uuid: uuid(7)}}
      end

      :ok =
        CrmPubSub.broadcast_interaction(:interaction_created, %{
          uuid: uuid(8),
          contact_uuid: uuid(2)
        })

      assert_nothing_before_marker(3)
    end

    test "a topic in capitals is the same topic; pushes name the interaction in lowercase" do
      :ok = CrmPubSub.subscribe(CrmPubSub.topic_contact_interactions(String.upcase(uuid(1))))

      :ok =
        CrmPubSub.broadcast_to_contacts(:interaction_updated, String.upcase(uuid(9)), [
          String.upcase(uuid(1))
        ])

      assert next_crm() == {:crm, :interaction_updated, %{interaction_uuid: uuid(9)}}
    end

    test "a string that is not a topic is refused, a non-string raises like the seed" do
      assert CrmPubSub.subscribe("crm:contact:nope:interactions") == {:error, :bad_topic}
      assert CrmPubSub.subscribe("crm:contact:#{uuid(1)}:feed") == {:error, :bad_topic}

      assert CrmPubSub.subscribe("crm:contact:0190a5b2-7c1e-7a01-8f00-00000000000g:interactions") ==
               {:error, :bad_topic}

      assert_raise FunctionClauseError, fn -> CrmPubSub.subscribe(:topic) end
      assert CrmPubSub.stats().topics == 0
    end

    @tag daemon_args: ["--max-subscriptions", "2"]
    test "a topic the daemon refuses is an error and is not held", %{socket: socket} do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.subscribe(topic(2))
      assert CrmPubSub.subscribe(topic(3)) == {:error, :too_many}
      conn = TestConn.connect(socket)
      {topics, _} = TestConn.daemon_topics(conn)
      assert Map.keys(topics) |> Enum.sort() == [topic(1), topic(2)]
      assert CrmPubSub.stats().topics == 2
    end

    test "subscribing twice from one process delivers once" do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
      assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
      assert_nothing_before_marker(1)
    end

    test "two processes on one topic: both receive, the daemon holds one subscription", %{
      socket: socket
    } do
      :ok = CrmPubSub.subscribe(topic(1))
      other = spawn_subscriber(topic(1))
      conn = TestConn.connect(socket)
      {topics, _} = TestConn.daemon_topics(conn)
      assert topics == %{topic(1) => 1}
      :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
      assert next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(100)}}
      assert_receive {:got, ^other, {:crm, :interaction_created, _}}
      refute Process.alive?(other)
    end
  end

  describe "unsubscribe/1" do
    test "the last local subscriber leaving drops the daemon's subscription", %{socket: socket} do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.subscribe(topic(2))
      conn = TestConn.connect(socket)
      {topics, conn} = TestConn.daemon_topics(conn)
      assert Map.keys(topics) |> Enum.sort() == [topic(1), topic(2)]

      assert :ok = CrmPubSub.unsubscribe(topic(1))
      :ok = CrmPubSub.flush()
      {topics, _} = TestConn.daemon_topics(conn)
      assert topics == %{topic(2) => 1}

      :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
      assert_nothing_before_marker(2)
    end

    test "another local subscriber keeps the daemon's subscription", %{socket: socket} do
      stay = spawn_subscriber(topic(1))
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.unsubscribe(topic(1))
      :ok = CrmPubSub.flush()
      {topics, _} = TestConn.daemon_topics(TestConn.connect(socket))
      assert topics == %{topic(1) => 1}
      assert Process.alive?(stay)
    end

    test "topics not held, not topics: :ok, nothing changes" do
      assert CrmPubSub.unsubscribe(topic(5)) == :ok
      assert CrmPubSub.unsubscribe("nonsense") == :ok
      assert_raise FunctionClauseError, fn -> CrmPubSub.unsubscribe(nil) end
    end

    test "a subscriber that exits is unsubscribed", %{socket: socket} do
      pid = spawn_subscriber([topic(1), topic(2)])
      conn = TestConn.connect(socket)
      {topics, conn} = TestConn.daemon_topics(conn)
      assert map_size(topics) == 2
      ref = Process.monitor(pid)
      # Its first push ends it.
      :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1)])
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}

      TestConn.await(conn, fn c ->
        {topics, c} = TestConn.daemon_topics(c)
        {topics == %{}, c}
      end)

      assert %{topics: 0, subscribers: 0} = CrmPubSub.stats()
    end
  end

  describe "broadcast_to_contacts/3" do
    test "nils and duplicates dropped: one push per contact" do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.subscribe(topic(2))

      :ok =
        CrmPubSub.broadcast_to_contacts(:interaction_updated, uuid(100), [
          uuid(1),
          nil,
          uuid(2),
          uuid(1)
        ])

      got = [next_crm(), next_crm()]

      assert got ==
               List.duplicate({:crm, :interaction_updated, %{interaction_uuid: uuid(100)}}, 2)

      assert_nothing_before_marker(1)
      :ok = CrmPubSub.flush()
      assert %{acked: 2, failed: 0} = CrmPubSub.stats()
    end

    test "an empty list reaches nobody and is fine" do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [])
      assert_nothing_before_marker(1)
    end
  end

  describe "bad arguments to broadcasts" do
    test "return :ok, never raise, are counted and logged" do
      :ok = CrmPubSub.subscribe(topic(1))

      log =
        capture_log(fn ->
          assert :ok = CrmPubSub.broadcast_interaction(:interaction_exploded, %{uuid: uuid(1)})
          assert :ok = CrmPubSub.broadcast_interaction("nope", %{uuid: uuid(1)})
          assert :ok = CrmPubSub.broadcast_interaction(:interaction_created, nil)

          assert :ok =
                   CrmPubSub.broadcast_interaction(:interaction_created, %{uuid: {:not, :json}})

          assert :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(1), :not_a_list)
          assert :ok = CrmPubSub.broadcast_to_contacts(nil, uuid(1), [uuid(1)])
        end)

      assert log =~ "broadcast_interaction(:interaction_exploded, ...) not sent"
      assert log =~ "interaction is not a map"
      assert %{rejected: 6, broadcasts: 0} = CrmPubSub.stats()
      assert_nothing_before_marker(1)
    end

    test "values the daemon refuses are logged and counted as failed, the rest goes on" do
      :ok = CrmPubSub.subscribe(topic(1))

      log =
        capture_log(fn ->
          :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, "not-a-uuid", [uuid(1)])
          :ok = CrmPubSub.broadcast_interaction(:interaction_created, %{contact_uuid: uuid(1)})
          :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(100), [uuid(1), 42])
          :ok = CrmPubSub.flush()
        end)

      assert log =~ "broadcast refused: bad_uuid"
      assert %{failed: 3, acked: 0} = CrmPubSub.stats()
      assert_nothing_before_marker(1)
    end

    test "the event may be given by name" do
      :ok = CrmPubSub.subscribe(topic(1))
      :ok = CrmPubSub.broadcast_to_contacts("interaction_deleted", uuid(100), [uuid(1)])
      assert next_crm() == {:crm, :interaction_deleted, %{interaction_uuid: uuid(100)}}
    end
  end

  describe "stats/0 and flush/1" do
    test "count what became of broadcasts", %{socket: socket} do
      :ok = CrmPubSub.subscribe(topic(1))

      for n <- 1..50,
          do: :ok = CrmPubSub.broadcast_to_contacts(:interaction_created, uuid(n), [uuid(1)])

      assert :ok = CrmPubSub.flush()

      assert %{
               broadcasts: 50,
               acked: 50,
               pending: 0,
               dropped: 0,
               lost: 0,
               connected: true,
               topics: 1,
               subscribers: 1
             } = CrmPubSub.stats()

      assert CrmPubSub.stats().socket == socket

      for n <- 1..50,
          do: assert(next_crm() == {:crm, :interaction_created, %{interaction_uuid: uuid(n)}})
    end

    test "the daemon lists this node's connection with its client name", %{socket: socket} do
      {%{"clients" => clients}, _} =
        TestConn.request(TestConn.connect(socket), %{"op" => "clients"})

      assert Enum.any?(clients, &(&1["name"] == "elixir #{node()}"))
    end
  end
end
