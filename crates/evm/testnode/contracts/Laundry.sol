// SPDX-License-Identifier: Apache-2.0
// Contracts for chainhound-evm's node test: a token, a Tornado-like mixer
// pool, a bridge-like lock and a DEX that swaps ETH for the token. Small on
// purpose; they move value the way their real counterparts do (events,
// internal calls) without their cryptography.
pragma solidity ^0.8.20;

/// A plain ERC-20 with 6 decimals; the deployer mints.
contract TestUSD {
    string public constant name = "Test USD";
    string public constant symbol = "TUSD";
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    address public immutable minter;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() { minter = msg.sender; }

    function mint(address to, uint256 value) external {
        require(msg.sender == minter, "not minter");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// Tornado-like: fixed-denomination deposits under a commitment; anyone who
/// knows the secret withdraws to any address. (Tornado proves knowledge
/// with a zk-SNARK and hides which deposit is spent; here the secret is
/// revealed, which changes nothing about how the ETH moves.)
contract MixerPool {
    uint256 public immutable denomination;
    mapping(bytes32 => bool) public commitments;
    mapping(bytes32 => bool) public spent;

    event Deposit(bytes32 indexed commitment);
    event Withdrawal(address to, bytes32 nullifierHash);

    constructor(uint256 denomination_) { denomination = denomination_; }

    function deposit(bytes32 commitment) external payable {
        require(msg.value == denomination, "wrong amount");
        require(!commitments[commitment], "duplicate");
        commitments[commitment] = true;
        emit Deposit(commitment);
    }

    function withdraw(bytes32 secret, address payable to) external {
        bytes32 c = keccak256(abi.encodePacked(secret));
        require(commitments[c] && !spent[c], "unknown or spent");
        spent[c] = true;
        (bool ok, ) = to.call{value: denomination}("");
        require(ok, "send failed");
        emit Withdrawal(to, c);
    }
}

/// Bridge-like: ETH locked here is released on another chain.
contract BridgeLock {
    event Locked(address indexed from, uint256 amount, uint256 toChain, bytes32 recipient);

    function lock(uint256 toChain, bytes32 recipient) external payable {
        require(msg.value > 0, "nothing to lock");
        emit Locked(msg.sender, msg.value, toChain, recipient);
    }
}

/// A fixed-price DEX: sells tokens from its own balance at `tokensPerEth`
/// base units per ether, and buys them back for ETH.
contract FixedRateDex {
    TestUSD public immutable token;
    uint256 public immutable tokensPerEth; // token base units per 1 ether

    constructor(TestUSD token_, uint256 tokensPerEth_) payable {
        token = token_;
        tokensPerEth = tokensPerEth_;
    }

    function swapEthForToken() external payable {
        uint256 out = msg.value * tokensPerEth / 1 ether;
        require(token.transfer(msg.sender, out), "token transfer");
    }

    function swapTokenForEth(uint256 amount) external {
        require(token.transferFrom(msg.sender, address(this), amount), "token transfer");
        (bool ok, ) = msg.sender.call{value: amount * 1 ether / tokensPerEth}("");
        require(ok, "send failed");
    }
}
