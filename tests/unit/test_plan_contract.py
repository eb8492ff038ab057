"""
Tests for Profit Booking Integration
Verifies plugins properly create and manage profit chains
"""
import pytest
from unittest.mock import AsyncMock, MagicMock
from profit_booking import (
    ProfitChain, ChainStatus
)
from profit_booking import ProfitBookingService

class TestProfitBookingService:
    """Test profit booking service"""
    
    @pytest.fixture
    def service(self):
        """Create service with mocks"""
        mock_manager = MagicMock()
        mock_manager.create_profit_chain = AsyncMock(return_value='chain_001')
        mock_manager.book_profit = AsyncMock(return_value=True)
        mock_manager.advance_chain_level = AsyncMock()
        mock_manager.start_profit_sl_hunt = AsyncMock(return_value=True)
        
        return ProfitBookingService(mock_manager)
    
    @pytest.mark.asyncio
    async def test_create_chain(self, service):
        """Test chain creation"""
        chain = await service.create_chain(
            plugin_id='combined_v3',
            order_b_id='order_b_001',
            symbol='EURUSD',
            direction='BUY'
        )
        
        assert chain is not None
        assert chain.chain_id == 'chain_001'
        assert chain.level == 0
        assert chain.orders_in_level == 1
        assert chain.status == ChainStatus.ACTIVE
    
    @pytest.mark.asyncio
    async def test_book_profit_no_advance(self, service):
        """Test booking profit without level advance"""
        # Create chain first
        chain = await service.create_chain(
            plugin_id='combined_v3',
            order_b_id='order_b_001',
            symbol='EURUSD',
            direction='BUY'
        )
        
        # Book profit (level 0 has 1 order, so this should advance)
        result = await service.book_profit(
            chain_id=chain.chain_id,
            order_id='order_001',
            profit_amount=7.0
        )
        
        assert result.success == True
        assert result.profit_amount == 7.0
        assert result.chain_advanced == True
        assert result.new_level == 1
    
    @pytest.mark.asyncio
    async def test_pyramid_progression(self, service):
        """Test full pyramid progression"""
        # Create chain
        chain = await service.create_chain(
            plugin_id='combined_v3',
            order_b_id='order_b_001',
            symbol='EURUSD',
            direction='BUY'
        )
        
        # Level 0: 1 order
        await service.book_profit(chain.chain_id, 'order_0_0', 7.0)
        assert chain.level == 1
        
        # Level 1: 2 orders
        await service.book_profit(chain.chain_id, 'order_1_0', 7.0)
        assert chain.level == 1  # Not advanced yet
        await service.book_profit(chain.chain_id, 'order_1_1', 7.0)
        assert chain.level == 2
        
        # Level 2: 4 orders
        for i in range(4):
            await service.book_profit(chain.chain_id, f'order_2_{i}', 7.0)
        assert chain.level == 3
    
    @pytest.mark.asyncio
    async def test_sl_hunt_trigger(self, service):
        """Test SL hunt trigger"""
        chain = await service.create_chain(
            plugin_id='combined_v3',
            order_b_id='order_b_001',
            symbol='EURUSD',
            direction='BUY'
        )
        
        success = await service.start_sl_hunt(chain.chain_id)
        
        assert success == True
        assert chain.status == ChainStatus.SL_HUNT
    
    def test_pyramid_config(self, service):
        """Test pyramid level configuration"""
        assert service.PYRAMID_LEVELS[0] == 1
        assert service.PYRAMID_LEVELS[1] == 2
        assert service.PYRAMID_LEVELS[2] == 4
        assert service.PYRAMID_LEVELS[3] == 8
        assert service.PYRAMID_LEVELS[4] == 16
        
        # Total orders in full pyramid: 1+2+4+8+16 = 31
        total = sum(service.PYRAMID_LEVELS.values())
        assert total == 31
    
    def test_chain_stats(self, service):
        """Test chain statistics"""
        # Add some test chains
        service._plugin_chains['combined_v3'] = {
            'chain_1': ProfitChain(
                chain_id='chain_1',
                plugin_id='combined_v3',
                symbol='EURUSD',
                direction='BUY',
                level=2,
                orders_in_level=4,
                orders_booked=2,
                total_profit=21.0,
                status=ChainStatus.ACTIVE
            ),
            'chain_2': ProfitChain(
                chain_id='chain_2',
                plugin_id='combined_v3',
                symbol='GBPUSD',
                direction='SELL',
                level=4,
                orders_in_level=16,
                orders_booked=16,
                total_profit=217.0,
                status=ChainStatus.COMPLETED
            )
        }
        
        stats = service.get_chain_stats('combined_v3')
        
        assert stats['total_chains'] == 2
        assert stats['active_chains'] == 1
        assert stats['completed_chains'] == 1
        assert stats['total_profit'] == 238.0
