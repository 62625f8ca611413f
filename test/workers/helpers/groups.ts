// Group helpers: create through the HTTP API and send over a socket.
import { expect } from "vitest";
import { Cmd, pb } from "../../../src/protocol/codec";
import { api, type TestUser } from "./http";
import type { TestSocket } from "./socket";

export interface GroupJson {
  groupID: string;
  groupName: string;
  ownerUserID: string;
  memberCount: number;
  status: number;
  notification: string;
  introduction: string;
  muteAll: boolean;
}

export async function createGroup(
  owner: TestUser,
  members: TestUser[],
  groupName = "Team",
): Promise<GroupJson> {
  const response = await api<GroupJson>("/api/group/create", {
    body: { groupName, faceURL: "", introduction: "", memberUserIDs: members.map((m) => m.userId) },
    token: owner.token,
  });
  expect(response.body.code, response.body.message).toBe(0);
  return response.body.data!;
}

export function sendToGroup(
  socket: TestSocket,
  groupId: string,
  text: string,
  clientMsgId: string = crypto.randomUUID(),
) {
  return socket.request(
    Cmd.CMD_SEND_MSG_REQ,
    pb.SendMessageRequest,
    {
      message: {
        clientMsgId,
        conversationId: `group_${groupId}`,
        messageType: 1,
        content: new TextEncoder().encode(text),
        sendTime: Date.now(),
      },
    },
    Cmd.CMD_SEND_MSG_RSP,
    pb.SendMessageResponse,
  );
}
